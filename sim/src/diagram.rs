//! Sequence diagrams of a replayed session, for pasting into a ticket: mermaid (Markdown)
//! and a self-contained SVG. Three lanes: the terminal (the machine and its cashier app),
//! the WxPayFace SDK and the merchant backend; timers and notices are notes on the
//! terminal, each order's conclusion spans every lane.

use std::fmt::Write as _;

use facepay_fsm::trace::{Mismatch, ReplayReport, StepInput, TraceHeader};
use facepay_fsm::{Command, Event, JournalRecord, Notice, PolicySettings};
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
            text: format!("{} concluded: {} ({})", c.out_trade_no, c.outcome, c.reason),
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

/// What the trace's header says, one line each: the terminal (the host's metadata), the
/// policy (the settings that differ from the defaults), and a resume from the journal.
/// `replay --explain` prints them above the transcript; the diagrams start with them.
pub fn header_lines(header: &TraceHeader) -> Vec<String> {
    let mut lines = Vec::new();
    let terminal: Vec<String> = header
        .terminal
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array()) // e.g. the simulator's whole spec
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    lines.push(format!(
        "terminal: {}",
        if terminal.is_empty() {
            "(no metadata)".to_string()
        } else {
            terminal.join(" ")
        }
    ));
    lines.push(format!("policy: {}", policy_text(header.policy.settings())));
    if let Some(resume) = &header.resume {
        lines.push(format!(
            "resumed at {}: {}",
            secs(resume.at.0),
            resume_text(resume.bytes())
        ));
    }
    lines
}

/// The settings that differ from [`PolicySettings::default`], or `defaults`.
fn policy_text(settings: &PolicySettings) -> String {
    let (Ok(Value::Object(ours)), Ok(Value::Object(default))) = (
        serde_json::to_value(settings),
        serde_json::to_value(PolicySettings::default()),
    ) else {
        return "unreadable".to_string();
    };
    let changed: Vec<String> = ours
        .iter()
        .filter(|(k, v)| default.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if changed.is_empty() {
        "defaults".to_string()
    } else {
        format!("defaults but {}", changed.join(" "))
    }
}

/// The journal record a session resumed from, as a person reads it.
fn resume_text(bytes: Option<Vec<u8>>) -> String {
    let Some(bytes) = bytes else {
        return "journal bytes unreadable (not hex)".to_string();
    };
    if bytes.iter().all(|&b| b == 0) || bytes.iter().all(|&b| b == 0xFF) {
        return "empty journal (a fresh session)".to_string();
    }
    match JournalRecord::decode(&bytes) {
        Ok(r) => format!(
            "journal {} {} fen, {}, {} ms after the submit",
            r.out_trade_no,
            r.total_fee,
            tag(&serde_json::to_value(r.phase).unwrap_or(Value::Null)),
            r.elapsed_ms
        ),
        Err(e) => match JournalRecord::salvage(&bytes) {
            Some((no, _)) => format!("damaged journal ({e}); order {no} salvaged"),
            None => format!("damaged journal ({e}); no order readable"),
        },
    }
}

/// A row of the divergence: the recorded command and the one today's machine emitted,
/// drawn alike and told apart by their labels.
fn divergent_row(t: u64, command: &Command, which: &str) -> Row {
    match command_row(t, command) {
        Row::Arrow {
            t,
            from,
            to,
            label,
            answer,
        } => Row::Arrow {
            t,
            from,
            to,
            label: format!("{which}: {label}"),
            answer,
        },
        Row::Note { t, lane, text } => Row::Note {
            t,
            lane,
            text: format!("{which}: {text}"),
        },
        Row::Banner { t, text, .. } => Row::Note {
            t,
            lane: Lane::Terminal,
            text: format!("{which}: {text}"),
        },
    }
}

/// The rows of a replay's transcript (replay with a transcript kept): the header's notes
/// first, then every step; at a divergence, the recorded command and today's, then the
/// verdict when the replay was not exact.
pub fn rows(report: &ReplayReport) -> Vec<Row> {
    let mut rows = Vec::new();
    let start = report.transcript.first().map_or(0, |s| s.t.0);
    if let Some(header) = &report.header {
        for line in header_lines(header) {
            if line.starts_with("resumed") {
                rows.push(Row::Banner {
                    t: header.resume.as_ref().map_or(start, |r| r.at.0),
                    text: format!("power loss, then {line}"),
                    alarm: false,
                });
            } else {
                rows.push(Row::Note {
                    t: start,
                    lane: Lane::Terminal,
                    text: line,
                });
            }
        }
    }
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
        let t = d.t.0;
        match &d.mismatch {
            Mismatch::Command { expected, actual } => {
                rows.push(divergent_row(t, expected, "recorded"));
                rows.push(divergent_row(t, actual, "now"));
            }
            Mismatch::Missing { expected } => rows.push(divergent_row(t, expected, "recorded")),
            Mismatch::Unexpected { actual } => rows.push(divergent_row(t, actual, "now")),
            Mismatch::Timer { .. } | Mismatch::Refused(_) => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::trace::replay_bytes;

    fn corpus(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/traces")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn texts(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Arrow { label, .. } => label.clone(),
                Row::Note { text, .. } | Row::Banner { text, .. } => text.clone(),
            })
            .collect()
    }

    #[test]
    fn the_diagram_starts_with_the_header() {
        let report = replay_bytes(&corpus("01-paid-micropay.jsonl"), true);
        let rows = texts(&rows(&report));
        assert_eq!(rows[0], "terminal: firmware=corpus-1 model=scripted store=S01");
        // Recorded before `close_declined_orders` existed: its absence reads as false.
        assert_eq!(rows[1], "policy: defaults but close_declined_orders=false");
        assert!(rows[2].starts_with("cashier: start"), "{rows:?}");
        let md = mermaid(&report, "01");
        assert!(
            md.contains("Note over Terminal: [0.000s] terminal: firmware=corpus-1"),
            "{md}"
        );
    }

    #[test]
    fn a_resumed_trace_draws_the_resume_before_its_first_query() {
        let report = replay_bytes(&corpus("18-resumed-after-power-loss.jsonl"), true);
        assert!(report.is_exact(), "{}", report.verdict_text("18"));
        let rows = rows(&report);
        let resume = rows
            .iter()
            .position(|r| matches!(r, Row::Banner { text, .. } if text.starts_with("power loss, then resumed at 100.000s: journal ")))
            .unwrap_or_else(|| panic!("{:?}", texts(&rows)));
        let query = rows
            .iter()
            .position(|r| matches!(r, Row::Arrow { label, .. } if label.starts_with("query")))
            .unwrap_or_else(|| panic!("{:?}", texts(&rows)));
        assert!(resume < query, "{:?}", texts(&rows));
    }

    #[test]
    fn a_divergence_draws_the_recorded_and_the_new_command() {
        // The recorded machine submitted 100 fen; say the log has 999.
        let text = String::from_utf8(corpus("01-paid-micropay.jsonl")).unwrap();
        let line = text
            .lines()
            .position(|l| l.contains("\"output\"") && l.contains("\"submit\""))
            .expect("a submit");
        let edited: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == line {
                    l.replace("\"total_fee\":100", "\"total_fee\":999")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert_ne!(edited[line], text.lines().nth(line).unwrap(), "the line has the fee");
        let report = replay_bytes(edited.join("\n").as_bytes(), true);
        assert!(report.divergence.is_some(), "{}", report.verdict_text("edited"));
        let rows = texts(&rows(&report));
        let recorded = rows
            .iter()
            .position(|r| r.starts_with("recorded: submit micropay T01 999"));
        let now = rows.iter().position(|r| r.starts_with("now: submit micropay T01 100"));
        assert!(matches!((recorded, now), (Some(a), Some(b)) if a + 1 == b), "{rows:?}");
        assert!(
            rows.last().is_some_and(|r| r.starts_with("DIVERGES at line")),
            "{rows:?}"
        );
    }

    #[test]
    fn conclusion_reasons_render_one_way() {
        let paid = replay_bytes(&corpus("05-systemerror-then-query-paid.jsonl"), true);
        let reversed = replay_bytes(&corpus("06-userpaying-polls-then-reversed.jsonl"), true);
        let banner = |r: &ReplayReport| {
            texts(&rows(r))
                .into_iter()
                .find(|t| t.contains("concluded:"))
                .expect("a conclusion")
        };
        assert_eq!(banner(&paid), "T05 concluded: Paid (trade_state SUCCESS)");
        assert_eq!(banner(&reversed), "T06 concluded: Reversed (reverse_confirmed)");
        assert!(
            paid.outcomes_text()
                .starts_with("outcomes: T05 Paid (trade_state SUCCESS)")
        );
    }
}
