//! -v: the session's WinHTTP status callbacks, one line each on standard error:
//! `* [+12.3ms] h=7 RESOLVING_NAME {"name":"example.com"}`.

use futures::StreamExt;
use hinet_client::{Notifications, Session, StatusInfo, StatusNotification};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long to wait for the last lines once the session is closed (they were all
/// received before the close was answered; this only bounds a stuck terminal).
const DRAIN: Duration = Duration::from_secs(5);

pub struct Tracer {
    task: JoinHandle<()>,
}

impl Tracer {
    /// Taps every status of the session and of the handles created under it.
    pub async fn start(session: &Session, t0: Instant) -> hinet_client::Result<Tracer> {
        let stream: Notifications = session.notifications(u32::MAX).await?;
        let task = tokio::spawn(async move {
            let mut stream = stream;
            while let Some(n) = stream.next().await {
                eprintln!("{}", line(&n, t0.elapsed()));
            }
            if stream.missed() > 0 {
                eprintln!("* ({} notifications not shown: too many)", stream.missed());
            }
        });
        Ok(Tracer { task })
    }

    /// Waits until the stream ended (after the session's HANDLE_CLOSING).
    pub async fn finish(self) {
        let _ = tokio::time::timeout(DRAIN, self.task).await;
    }
}

pub fn line(n: &StatusNotification, at: Duration) -> String {
    let ms = at.as_secs_f64() * 1000.0;
    let info = match &n.info {
        StatusInfo::Empty {} => String::new(),
        // The body is the output, not the trace.
        StatusInfo::ReadComplete { bytes_read, .. } => format!(" {{\"bytesRead\":{bytes_read}}}"),
        other => serde_json::to_string(other)
            .map(|j| format!(" {j}"))
            .unwrap_or_default(),
    };
    format!("* [+{ms:.1}ms] h={} {}{info}", n.handle, n.status_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_time_handle_status_and_info() {
        let n = StatusNotification {
            handle: 7,
            context: 0,
            status: 1,
            status_name: "RESOLVING_NAME".into(),
            info: StatusInfo::Name {
                name: "example.com".into(),
            },
        };
        assert_eq!(
            line(&n, Duration::from_micros(12_345)),
            r#"* [+12.3ms] h=7 RESOLVING_NAME {"name":"example.com"}"#
        );
        let read = StatusNotification {
            status_name: "READ_COMPLETE".into(),
            info: StatusInfo::ReadComplete {
                data: b"abc".as_slice().into(),
                bytes_read: 3,
            },
            ..n.clone()
        };
        assert!(line(&read, Duration::ZERO).ends_with(r#"READ_COMPLETE {"bytesRead":3}"#));
        let empty = StatusNotification {
            status_name: "SENDING_REQUEST".into(),
            info: StatusInfo::Empty {},
            ..n
        };
        assert!(line(&empty, Duration::ZERO).ends_with("h=7 SENDING_REQUEST"));
    }
}
