//! Sequence diagrams of a replayed session (mermaid and SVG).
