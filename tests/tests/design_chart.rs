//! The ASCII charts in docs/design.md §chart and in fsm/src/chart.rs's module doc are
//! copies of the hierarchy (statig's superstates, which `StateId::path` is held to in
//! fsm/src/state.rs): every state's path must be readable from each, and neither may draw
//! a superstate the machine lacks.

use std::collections::HashMap;

use facepay_fsm::StateId;

/// Every `StateId`; `slot` is exhaustive, so a new state fails to compile until listed.
const ALL: [StateId; 17] = [
    StateId::Uninitialized,
    StateId::Initializing,
    StateId::InitBackoff,
    StateId::Idle,
    StateId::GettingRawdata,
    StateId::GettingAuthInfo,
    StateId::Identifying,
    StateId::PreparingRawdata,
    StateId::PreparingAuthInfo,
    StateId::ScanningFace,
    StateId::ScanningCode,
    StateId::Submitting,
    StateId::Querying,
    StateId::Reversing,
    StateId::Reporting,
    StateId::Releasing,
    StateId::Released,
];

fn slot(id: StateId) -> usize {
    match id {
        StateId::Uninitialized => 0,
        StateId::Initializing => 1,
        StateId::InitBackoff => 2,
        StateId::Idle => 3,
        StateId::GettingRawdata => 4,
        StateId::GettingAuthInfo => 5,
        StateId::Identifying => 6,
        StateId::PreparingRawdata => 7,
        StateId::PreparingAuthInfo => 8,
        StateId::ScanningFace => 9,
        StateId::ScanningCode => 10,
        StateId::Submitting => 11,
        StateId::Querying => 12,
        StateId::Reversing => 13,
        StateId::Reporting => 14,
        StateId::Releasing => 15,
        StateId::Released => 16,
    }
}

/// One node of the drawn tree: its chain of names from below `Top`, and the words of its
/// line (inline leaves such as `Uninitialized → Initializing`).
struct Node {
    chain: Vec<String>,
    words: Vec<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The design's chart, and the chart module's own (its doc comment, `//! ` stripped).
fn charts() -> Vec<(&'static str, Vec<Node>)> {
    let design = read("docs/design.md");
    let start = design.find("## §chart").expect("design.md has §chart");
    let module: String = read("fsm/src/chart.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        ("docs/design.md", chart(&design[start..])),
        ("fsm/src/chart.rs", chart(&module)),
    ]
}

/// The first fenced block of `text`, read as a tree.
fn chart(text: &str) -> Vec<Node> {
    let block = text.split("```").nth(1).expect("a drawn chart");
    let mut stack: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    for line in block.lines() {
        let Some(at) = line.find("├─ ").or_else(|| line.find("└─ ")) else {
            continue;
        };
        // Each level indents by three columns ("│  ").
        let depth = line[..at].chars().count() / 3;
        let rest = &line[at + "├─ ".len()..];
        let w = words(rest);
        let name = w.first().expect("a node has a name").clone();
        stack.truncate(depth);
        stack.push(name);
        nodes.push(Node {
            chain: stack.clone(),
            words: w,
        });
    }
    assert!(nodes.len() > 10, "the chart was not read: {} nodes", nodes.len());
    nodes
}

#[test]
fn every_state_path_is_drawn_in_the_design_chart() {
    for (i, id) in ALL.iter().enumerate() {
        assert_eq!(slot(*id), i, "ALL lists {id:?} out of place");
    }
    for (file, nodes) in charts() {
        drawn(file, &nodes);
    }
}

fn drawn(file: &str, nodes: &[Node]) {
    for id in ALL {
        let path: Vec<&str> = id.path().split('/').collect();
        let (leaf, parents) = path.split_last().unwrap();
        for depth in 1..=parents.len() {
            let chain = &parents[..depth];
            assert!(
                nodes.iter().any(|n| n.chain == chain),
                "{file}: {id:?}: superstate {} is not drawn under {:?}",
                chain[depth - 1],
                &chain[..depth - 1]
            );
        }
        // The leaf is its own node under its parents, or named on a line of its parent or
        // of a sibling (`Releasing → Released`).
        let own = nodes.iter().any(|n| {
            n.chain.len() == parents.len() + 1
                && n.chain[..parents.len()] == *parents
                && n.chain.last().unwrap() == leaf
        });
        let inline = nodes.iter().any(|n| {
            // On the parent's line, or on a sibling's (`Submitting → Querying → Reversing`).
            let parent = n.chain == parents;
            let sibling = n.chain.len() == parents.len() + 1 && n.chain[..parents.len()] == *parents;
            let at = parent || sibling;
            at && n.words.iter().any(|w| w == leaf)
        });
        assert!(own || inline, "{file}: {id:?}: {leaf} is not drawn under {parents:?}");
    }
}

#[test]
fn the_design_chart_draws_no_superstate_the_machine_lacks() {
    let mut known: HashMap<Vec<String>, ()> = HashMap::new();
    for id in ALL {
        let path: Vec<String> = id.path().split('/').map(str::to_owned).collect();
        for depth in 1..=path.len() {
            known.insert(path[..depth].to_vec(), ());
        }
    }
    for (file, nodes) in charts() {
        for n in nodes {
            // A node is a superstate or a leaf of some path.
            assert!(
                known.contains_key(&n.chain),
                "{file} draws {:?}, which no StateId::path has",
                n.chain
            );
        }
    }
}
