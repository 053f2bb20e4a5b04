//! The report as a document: headings, prose, tables and chart slots.
//!
//! [`super::markdown`] builds one [`Doc`] from a comparison; the Markdown
//! and the HTML renderings both walk it, so the two files always show the
//! same tables with the same numbers. Prose and table cells use three
//! inline marks, written as in Markdown: `` `code` ``, `**strong**` and
//! `*emphasis*` (never `_`, which run data such as `lifetime_ms=1` holds).
//! The HTML renderer turns exactly these marks into tags and escapes
//! everything else; it does not parse Markdown in general.

use crate::attribution::AttributionVerdict;
use crate::cell::VerdictKind;
use crate::plot::ChartKind;

/// What a table cell says about a verdict, for colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// A ratio verdict.
    Verdict(VerdictKind),
    /// An attribution verdict.
    Attribution(AttributionVerdict),
}

impl Tone {
    /// The CSS class the HTML report colours by.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Tone::Verdict(VerdictKind::Faithful) => "faithful",
            Tone::Verdict(VerdictKind::Attenuated) => "attenuated",
            Tone::Verdict(VerdictKind::Inflated) => "inflated",
            Tone::Verdict(VerdictKind::Inconclusive) => "inconclusive",
            Tone::Attribution(AttributionVerdict::Consistent) => "consistent",
            Tone::Attribution(AttributionVerdict::SlightlySkewed) => "slightly-skewed",
            Tone::Attribution(AttributionVerdict::Skewed) => "skewed",
            Tone::Attribution(AttributionVerdict::Untestable) => "untestable",
        }
    }
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub text: String,
    pub tone: Option<Tone>,
}

impl Cell {
    pub(crate) fn toned(text: String, tone: Tone) -> Cell {
        Cell {
            text,
            tone: Some(tone),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, tone: None }
    }
}

/// A table under construction.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(header: impl IntoIterator<Item = String>) -> Table {
        Table {
            header: header.into_iter().collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row<C: Into<Cell>>(&mut self, row: impl IntoIterator<Item = C>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }
}

/// One block of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A heading, level 1 to 3.
    Heading { level: u8, text: String },
    /// A paragraph of prose.
    Para(String),
    /// A table with rows.
    Table(Table),
    /// What stands in for a table without rows.
    Empty(String),
    /// Where a chart belongs, when the renderer has one.
    Figure(ChartKind),
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Doc {
    pub blocks: Vec<Block>,
}

impl Doc {
    pub(crate) fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level,
            text: text.into(),
        });
    }

    pub(crate) fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    pub(crate) fn figure(&mut self, kind: ChartKind) {
        self.blocks.push(Block::Figure(kind));
    }

    /// The table, or `empty` when it has no rows.
    pub(crate) fn table_or(&mut self, table: Table, empty: &str) {
        if table.rows.is_empty() {
            self.blocks.push(Block::Empty(empty.to_string()));
        } else {
            self.blocks.push(Block::Table(table));
        }
    }

    /// The table, or a note that no run has cells.
    pub(crate) fn table(&mut self, table: Table) {
        self.table_or(table, "No cells in any run.");
    }
}
