//! Plain-text tables for terminals: what `profbench run` and `profbench
//! gate` print.

use std::fmt::Write as _;

/// Renders rows as a left-aligned text table with a rule under the header;
/// columns are as wide as their widest cell, two spaces apart.
pub fn text_table<R: AsRef<[String]>>(header: &[&str], rows: &[R]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let _ = write!(s, "{cell:w$}");
        }
        s.trim_end().to_string() + "\n"
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(&mut header.iter().copied());
    out += &line(&mut rule.iter().map(String::as_str));
    for row in rows {
        out += &line(&mut row.as_ref().iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_trailing_space_is_trimmed() {
        let t = text_table(&["a", "bb"], &[vec!["xxx".to_string(), "y".to_string()]]);
        assert_eq!(t, "a    bb\n---  --\nxxx  y\n");
    }
}
