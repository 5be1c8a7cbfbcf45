//! How admin commands print: tables and sentences for people, or one JSON document for
//! scripts (`--json`); progress bars on a terminal only, never in JSON mode.

use std::io::IsTerminal;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `json` in JSON mode, else the human text.
    pub fn print(&self, human: impl FnOnce() -> String, json: impl serde::Serialize) {
        if self.json {
            println!("{}", serde_json::to_value(json).unwrap_or_default());
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }

    /// A byte progress bar for an upload, hidden unless stderr is a terminal.
    pub fn bytes_bar(&self, total: u64, message: &str) -> indicatif::ProgressBar {
        let bar = if self.json || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(total)
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    /// A spinner for a wait, hidden unless stderr is a terminal.
    pub fn spinner(&self, message: &str) -> indicatif::ProgressBar {
        let bar = if self.json || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

/// A left-aligned text table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["a".into(), "running".into()],
            vec!["longer-id".into(), "x".into()],
        ];
        assert_eq!(
            table(&["ID", "STATE"], &rows),
            "ID         STATE\na          running\nlonger-id  x\n"
        );
    }
}
