//! The one table every scenario adds rows to: each figure beside the reference it is
//! compared with (measured in the same run), their ratio, the target and whether it
//! is met. Printed as text, or as one JSON document with `--json`.

use serde::Serialize;

/// How a figure is judged against its target.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The figure must not exceed this value (in the figure's unit).
    AtMost(f64),
    /// The ratio figure / reference must not exceed this.
    RatioAtMost(f64),
    /// The ratio figure / reference must reach at least this.
    RatioAtLeast(f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub figure: String,
    pub value: f64,
    pub unit: String,
    pub reference: Option<Reference>,
    pub ratio: Option<f64>,
    pub target: Option<Target>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub name: String,
    pub value: f64,
}

impl Row {
    pub fn new(scenario: &str, figure: impl Into<String>, value: f64, unit: &str) -> Row {
        Row {
            scenario: scenario.to_string(),
            figure: figure.into(),
            value,
            unit: unit.to_string(),
            reference: None,
            ratio: None,
            target: None,
            met: None,
        }
    }

    pub fn against(mut self, name: impl Into<String>, value: f64) -> Row {
        self.ratio = (value > 0.0).then(|| self.value / value);
        self.reference = Some(Reference {
            name: name.into(),
            value,
        });
        self.judge()
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self.judge()
    }

    fn judge(mut self) -> Row {
        self.met = match (&self.target, self.ratio) {
            (Some(Target::AtMost(limit)), _) => Some(self.value <= *limit),
            (Some(Target::RatioAtMost(limit)), Some(ratio)) => Some(ratio <= *limit),
            (Some(Target::RatioAtLeast(limit)), Some(ratio)) => Some(ratio >= *limit),
            _ => None,
        };
        self
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub rows: Vec<Row>,
    /// Scenarios that could not run, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub postgres: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default();
        let memory_kib: f64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0.0);
        let command_output = |program: &str, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .ok()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
                .unwrap_or_default()
        };
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib: memory_kib / 1024.0 / 1024.0,
            kernel: command_output("uname", &["-r"]),
            postgres: command_output("psql", &["--version"]),
        }
    }
}

impl Report {
    pub fn add(&mut self, row: Row) {
        if !std::env::args().any(|a| a == "--json") {
            eprintln!("  {}", text_line(&row));
        }
        self.rows.push(row);
    }

    pub fn print_text(&self) {
        let m = &self.machine;
        println!(
            "machine: {} × {}, {:.1} GiB, Linux {}, {}",
            m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.postgres
        );
        println!(
            "{:<11} {:<70} {:>10} {:<4} {:>10}  {:<34} {:>7}  target",
            "scenario", "figure", "value", "unit", "reference", "", "ratio"
        );
        for row in &self.rows {
            println!("{}", text_line(row));
        }
        for skipped in &self.skipped {
            println!("skipped: {skipped}");
        }
    }
}

fn text_line(row: &Row) -> String {
    let (reference_value, reference_name) = match &row.reference {
        Some(reference) => (format_value(reference.value), reference.name.clone()),
        None => (String::new(), String::new()),
    };
    let ratio = row
        .ratio
        .map(|ratio| format!("{ratio:.2}×"))
        .unwrap_or_default();
    let target = match &row.target {
        Some(Target::AtMost(limit)) => format!("≤ {} {}", format_value(*limit), row.unit),
        Some(Target::RatioAtMost(limit)) => format!("ratio ≤ {limit:.2}"),
        Some(Target::RatioAtLeast(limit)) => format!("ratio ≥ {limit:.2}"),
        None => String::new(),
    };
    let verdict = match row.met {
        Some(true) => " met",
        Some(false) => " MISSED",
        None => "",
    };
    format!(
        "{:<11} {:<70} {:>10} {:<4} {:>10}  {:<34} {:>7}  {target}{verdict}",
        row.scenario,
        row.figure,
        format_value(row.value),
        row.unit,
        reference_value,
        reference_name,
        ratio
    )
}

fn format_value(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}
