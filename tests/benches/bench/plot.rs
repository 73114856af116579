//! SVG figures (plotters): hinetd relative to each alternative, and the soak run's memory
//! and descriptors over time.

use std::path::Path;

use plotters::prelude::*;

use crate::common::Report;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One horizontal bar per comparison: hinetd's figure relative to the alternative's
/// (1 = as good; above 1 better, below worse).
pub fn ratios(report: &Report, path: &Path) -> PlotResult {
    let rows: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.ratio().is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let height = 80 + 34 * rows.len() as u32;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = rows.iter().map(|r| r.ratio()).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "hinetd relative to the alternative (1.0 = equal, higher = hinetd better)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(560)
        .build_cartesian_2d(0.0..max, (0..rows.len()).into_segmented())?;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{}: {} vs {}", r.section, r.what, r.other_name))
        .collect();
    chart
        .configure_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("ratio")
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let colour = if r.ratio() >= 1.0 {
            GREEN.mix(0.7)
        } else {
            RED.mix(0.6)
        };
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (r.ratio(), SegmentValue::Exact(i + 1)),
            ],
            colour.filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        bar
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        Text::new(
            format!("{:.2}", r.ratio()),
            (r.ratio() + max * 0.01, SegmentValue::CenterOf(i)),
            ("sans-serif", 12),
        )
    }))?;
    chart.draw_series(LineSeries::new(
        [
            (1.0, SegmentValue::Exact(0)),
            (1.0, SegmentValue::Exact(rows.len())),
        ],
        BLACK.stroke_width(1),
    ))?;
    root.present()?;
    Ok(())
}

/// The daemon's RSS (MiB) and open descriptors during the soak run.
pub fn soak(report: &Report, path: &Path) -> PlotResult {
    if report.soak.len() < 2 {
        return Ok(());
    }
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let t_max = report.soak.iter().map(|s| s.0).fold(1.0, f64::max);
    let rss_max = report.soak.iter().map(|s| s.1).fold(1.0, f64::max) * 1.3;
    // Different headroom on the two axes, so two flat lines do not hide one another.
    let fd_max = report.soak.iter().map(|s| s.2).max().unwrap_or(1) as f64 * 2.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "soak: daemon RSS and open fds over time",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..rss_max)?
        .set_secondary_coord(0.0..t_max, 0.0..fd_max);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("RSS (MiB)")
        .draw()?;
    chart.configure_secondary_axes().y_desc("open fds").draw()?;
    chart
        .draw_series(LineSeries::new(
            report.soak.iter().map(|s| (s.0, s.1)),
            BLUE.stroke_width(2),
        ))?
        .label("RSS (MiB)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
    chart
        .draw_secondary_series(LineSeries::new(
            report.soak.iter().map(|s| (s.0, s.2 as f64)),
            RED.stroke_width(2),
        ))?
        .label("open fds")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
