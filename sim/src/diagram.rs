//! Sequence diagrams of a replayed session, for pasting into a ticket: mermaid (Markdown)
//! and a self-contained SVG. Three lanes: the terminal (the machine and its cashier app),
//! the WxPayFace SDK and the merchant backend; timers and notices are notes on the
//! terminal, each order's conclusion spans every lane.

use std::fmt::Write as _;

use facepay_fsm::trace::{ReplayReport, StepInput};
use facepay_fsm::{Command, Event, Notice};
use serde_json::Value;

/// A lane of the diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The terminal: the machine and the cashier app.
    Terminal,
    /// The WxPayFace SDK.
    Sdk,
    /// The merchant's backend.
    Backend,
}

impl Lane {
    fn name(self) -> &'static str {
        match self {
            Lane::Terminal => "Terminal",
            Lane::Sdk => "SDK",
            Lane::Backend => "Backend",
        }
    }
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// An arrow: a call (solid) or an answer (dashed).
    Arrow {
        /// Time in ms.
        t: u64,
        /// From.
        from: Lane,
        /// To.
        to: Lane,
        /// Label.
        label: String,
        /// An answer rather than a call.
        answer: bool,
    },
    /// A note over one lane (app requests, timers, notices, diagnostics).
    Note {
        /// Time in ms.
        t: u64,
        /// Over which lane.
        lane: Lane,
        /// Text.
        text: String,
    },
    /// An order's conclusion or the replay's verdict, across every lane.
    Banner {
        /// Time in ms.
        t: u64,
        /// Text.
        text: String,
        /// A problem (divergence, unreadable line) rather than a conclusion.
        alarm: bool,
    },
}

/// The serde tag of a value: the string itself or the first key of its object.
fn tag(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

fn inner(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.values().next().unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| match x {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn event_row(t: u64, event: &Event) -> Row {
    let v = serde_json::to_value(event).unwrap_or(Value::Null);
    let body = inner(&v);
    let kind = tag(body);
    let fields = inner(body);
    let id = text_of(fields, "id").map(|i| format!(" ({i})")).unwrap_or_default();
    match event {
        Event::App(_) => {
            let detail = match (text_of(fields, "out_trade_no"), text_of(fields, "total_fee")) {
                (Some(no), Some(fee)) => format!(" {no} {fee} fen"),
                _ => String::new(),
            };
            Row::Note {
                t,
                lane: Lane::Terminal,
                text: format!("cashier: {kind}{detail}"),
            }
        }
        Event::Sdk(_) => {
            let status = fields
                .get("status")
                .map(|s| {
                    let mut x = text_of(s, "return_code").unwrap_or_default();
                    if let Some(e) = text_of(s, "err_code") {
                        let _ = write!(x, " {e}");
                    }
                    x
                })
                .unwrap_or_default();
            if kind == "service_lost" {
                return Row::Note {
                    t,
                    lane: Lane::Sdk,
                    text: "service lost".into(),
                };
            }
            Row::Arrow {
                t,
                from: Lane::Sdk,
                to: Lane::Terminal,
                label: format!("{kind}{id} {status}").trim_end().to_string(),
                answer: true,
            }
        }
        Event::Backend(_) => {
            let answer = fields.get("answer").unwrap_or(&Value::Null);
            let summary = match (answer.get("Ok"), answer.get("Err")) {
                (Some(ok), _) => ["return_code", "result_code", "err_code", "trade_state", "recall"]
                    .iter()
                    .filter_map(|k| text_of(ok, k).map(|x| if *k == "recall" { format!("recall={x}") } else { x }))
                    .collect::<Vec<_>>()
                    .join(" "),
                (None, Some(e)) => format!("no answer: {}", tag(e)),
                _ => String::new(),
            };
            Row::Arrow {
                t,
                from: Lane::Backend,
                to: Lane::Terminal,
                label: format!("{kind}{id} {summary}").trim_end().to_string(),
                answer: true,
            }
        }
    }
}

fn command_row(t: u64, command: &Command) -> Row {
    let v = serde_json::to_value(command).unwrap_or(Value::Null);
    let body = inner(&v);
    match command {
        Command::Sdk { id, call } => Row::Arrow {
            t,
            from: Lane::Terminal,
            to: Lane::Sdk,
            label: format!("{} ({})", call.kind().method(), id.0),
            answer: false,
        },
        Command::Backend { id, .. } => {
            let call = body.get("call").unwrap_or(&Value::Null);
            let args = inner(call);
            let mut label = tag(call);
            for k in ["api", "out_trade_no", "total_fee", "attempt"] {
                if let Some(x) = text_of(args, k) {
                    let _ = write!(label, " {}{x}", if k == "attempt" { "attempt " } else { "" });
                }
            }
            let _ = write!(label, " ({})", id.0);
            Row::Arrow {
                t,
                from: Lane::Terminal,
                to: Lane::Backend,
                label,
                answer: false,
            }
        }
        Command::Notify(Notice::OrderConcluded(c)) => Row::Banner {
            t,
            text: format!(
                "{} concluded: {} ({})",
                c.out_trade_no,
                c.outcome,
                serde_json::to_string(&c.reason).unwrap_or_default().replace('"', "")
            ),
            alarm: false,
        },
        Command::Notify(_) => Row::Note {
            t,
            lane: Lane::Terminal,
            text: format!("notify: {}", tag(body)),
        },
        Command::Persist(record) => Row::Note {
            t,
            lane: Lane::Terminal,
            text: format!(
                "journal: {}",
                tag(&serde_json::to_value(record.phase).unwrap_or(Value::Null))
            ),
        },
        Command::Diagnostic(_) => Row::Note {
            t,
            lane: Lane::Terminal,
            text: format!("diagnostic: {}", tag(body.get("kind").unwrap_or(&Value::Null))),
        },
    }
}

/// The rows of a replay's transcript (replay with a transcript kept), ending with the
/// verdict when the replay was not exact.
pub fn rows(report: &ReplayReport) -> Vec<Row> {
    let mut rows = Vec::new();
    for step in &report.transcript {
        let t = step.t.0;
        match &step.input {
            StepInput::Event(e) => rows.push(event_row(t, e)),
            StepInput::Timeout(Some(timer)) => rows.push(Row::Note {
                t,
                lane: Lane::Terminal,
                text: format!(
                    "timer {} fired",
                    serde_json::to_string(timer).unwrap_or_default().replace('"', "")
                ),
            }),
            StepInput::Timeout(None) => {}
        }
        rows.extend(step.commands.iter().map(|c| command_row(t, c)));
    }
    let end = rows.last().map_or(0, |r| match r {
        Row::Arrow { t, .. } | Row::Note { t, .. } | Row::Banner { t, .. } => *t,
    });
    if let Some(d) = &report.divergence {
        let first = d.to_string();
        rows.push(Row::Banner {
            t: d.t.0,
            text: format!("DIVERGES at {}", first.lines().next().unwrap_or_default()),
            alarm: true,
        });
    } else if let Some(e) = &report.error {
        rows.push(Row::Banner {
            t: end,
            text: e.to_string(),
            alarm: true,
        });
    }
    rows
}

fn secs(t: u64) -> String {
    format!("{}.{:03}s", t / 1000, t % 1000)
}

/// A mermaid `sequenceDiagram` in a Markdown code block, titled `title`.
pub fn mermaid(report: &ReplayReport, title: &str) -> String {
    // Mermaid reads `;` as a line end and `#` as an entity: keep them out of labels.
    let clean = |s: &str| s.replace([';', '#'], ",");
    let mut s = format!("### {}\n\n```mermaid\nsequenceDiagram\n", clean(title));
    s.push_str("    participant Terminal\n    participant SDK\n    participant Backend\n");
    for row in rows(report) {
        let _ = match row {
            Row::Arrow {
                t,
                from,
                to,
                label,
                answer,
            } => writeln!(
                s,
                "    {}{}{}: [{}] {}",
                from.name(),
                if answer { "-->>" } else { "->>" },
                to.name(),
                secs(t),
                clean(&label)
            ),
            Row::Note { t, lane, text } => {
                writeln!(s, "    Note over {}: [{}] {}", lane.name(), secs(t), clean(&text))
            }
            Row::Banner { t, text, alarm } => writeln!(
                s,
                "    Note over Terminal,Backend: {}[{}] {}",
                if alarm { "⚠ " } else { "" },
                secs(t),
                clean(&text)
            ),
        };
    }
    s.push_str("```\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained SVG sequence diagram, titled `title`.
pub fn svg(report: &ReplayReport, title: &str) -> String {
    const ROW: u32 = 26;
    const TOP: u32 = 80;
    let x = |lane: Lane| match lane {
        Lane::Terminal => 200,
        Lane::Sdk => 560,
        Lane::Backend => 900,
    };
    let rows = rows(report);
    let height = TOP + ROW * u32::try_from(rows.len()).unwrap_or(u32::MAX / ROW - 10) + 40;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="{height}" viewBox="0 0 1080 {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
<text x="16" y="24" font-size="15" font-weight="bold">{}</text>"##,
        xml(title)
    );
    for lane in [Lane::Terminal, Lane::Sdk, Lane::Backend] {
        let lx = x(lane);
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="36" width="120" height="26" rx="4" fill="#e8eef7" stroke="#4a6fa5"/><text x="{lx}" y="53" text-anchor="middle" font-weight="bold">{}</text><line x1="{lx}" y1="62" x2="{lx}" y2="{}" stroke="#9aa" stroke-dasharray="4 3"/>"##,
            lx - 60,
            lane.name(),
            height - 20
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * u32::try_from(i).unwrap_or(0) + 14;
        let t = match row {
            Row::Arrow { t, .. } | Row::Note { t, .. } | Row::Banner { t, .. } => *t,
        };
        let _ = writeln!(s, r##"<text x="16" y="{}" fill="#666">{}</text>"##, y + 4, secs(t));
        let _ = match row {
            Row::Arrow {
                from,
                to,
                label,
                answer,
                ..
            } => {
                let (x1, x2) = (x(*from), x(*to));
                let dash = if *answer { r#" stroke-dasharray="6 3""# } else { "" };
                writeln!(
                    s,
                    r##"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333"{dash} marker-end="url(#arrow)"/><text x="{}" y="{}" text-anchor="middle" stroke="white" stroke-width="4" paint-order="stroke">{}</text>"##,
                    (x1 + x2) / 2,
                    y - 4,
                    xml(label)
                )
            }
            Row::Note { lane, text, .. } => {
                let w = 12 + 7 * u32::try_from(text.chars().count()).unwrap_or(40);
                writeln!(
                    s,
                    r##"<rect x="{}" y="{}" width="{w}" height="20" fill="#fff8c5" stroke="#c9b458"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
                    x(*lane) - w / 2,
                    y - 10,
                    x(*lane),
                    y + 4,
                    xml(text)
                )
            }
            Row::Banner { text, alarm, .. } => {
                let (fill, stroke) = if *alarm {
                    ("#fde2e1", "#c0392b")
                } else {
                    ("#dff5e1", "#2e8b57")
                };
                writeln!(
                    s,
                    r##"<rect x="130" y="{}" width="840" height="20" rx="3" fill="{fill}" stroke="{stroke}"/><text x="550" y="{}" text-anchor="middle" font-weight="bold">{}</text>"##,
                    y - 10,
                    y + 4,
                    xml(text)
                )
            }
        };
    }
    s.push_str("</svg>\n");
    s
}
