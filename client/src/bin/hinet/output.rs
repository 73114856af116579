//! Where the response goes: standard output or a file (-o, -O), with a progress bar on
//! standard error for downloads to a file when standard error is a terminal.

use crate::args::RequestArgs;
use crate::exit::{Failure, WRITE_ERROR};
use hinet_client::Target;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use tokio::io::{AsyncWrite, AsyncWriteExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl Dest {
    pub fn from_args(args: &RequestArgs, target: &Target) -> Result<Dest, Failure> {
        if let Some(path) = &args.output {
            return Ok(Dest::File(path.clone()));
        }
        if !args.remote_name {
            return Ok(Dest::Stdout);
        }
        // -O: the last path segment, as curl takes it (no decoding, no directories).
        let path = target.object.split(['?', '#']).next().unwrap_or_default();
        match path.rsplit('/').next() {
            Some(name) if !name.is_empty() && name != "." && name != ".." => {
                Ok(Dest::File(PathBuf::from(name)))
            }
            _ => Err(Failure::new(
                WRITE_ERROR,
                format!("the URL {} has no file name for -O", target.url),
            )),
        }
    }
}

pub struct Output {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    dest: Dest,
    progress: Option<ProgressBar>,
}

impl Output {
    /// Opens the destination (a file is created only now, once there is a response).
    pub async fn open(dest: &Dest, progress: bool, total: Option<u64>) -> Result<Output, Failure> {
        let writer: Box<dyn AsyncWrite + Unpin + Send> = match dest {
            Dest::Stdout => Box::new(tokio::io::stdout()),
            Dest::File(path) => Box::new(tokio::fs::File::create(path).await.map_err(|e| {
                Failure::new(
                    WRITE_ERROR,
                    format!("cannot create {}: {e}", path.display()),
                )
            })?),
        };
        let progress =
            (progress && matches!(dest, Dest::File(_)) && std::io::stderr().is_terminal())
                .then(|| progress_bar(total));
        Ok(Output {
            writer,
            dest: dest.clone(),
            progress,
        })
    }

    /// Writes response headers (-i, -I): not counted as body progress.
    pub async fn write_headers(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.put(bytes).await
    }

    pub async fn write_body(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.put(bytes).await?;
        if let Some(p) = &self.progress {
            p.inc(bytes.len() as u64);
        }
        Ok(())
    }

    pub async fn finish(mut self) -> Result<(), Failure> {
        if let Some(p) = self.progress.take() {
            p.finish_and_clear();
        }
        let result = self.writer.flush().await;
        result.map_err(|e| self.failure(&e))
    }

    async fn put(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let result = self.writer.write_all(bytes).await;
        result.map_err(|e| self.failure(&e))
    }

    fn failure(&self, e: &std::io::Error) -> Failure {
        let what = match &self.dest {
            Dest::Stdout => "standard output".to_owned(),
            Dest::File(p) => p.display().to_string(),
        };
        Failure::new(WRITE_ERROR, format!("cannot write to {what}: {e}"))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // A failed transfer must not leave a half-drawn bar on the terminal.
        if let Some(p) = self.progress.take() {
            p.abandon();
        }
    }
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()),
            "{bytes:>10}/{total_bytes} [{bar:30}] {bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{spinner} {bytes:>10} {bytes_per_sec}",
        ),
    };
    // The templates are constants; should one not parse, the default style is fine.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
