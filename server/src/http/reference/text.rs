//! Text for the reference page: HTML escaping, and the small subset of
//! Markdown the spec's descriptions use.
//!
//! Descriptions are rendered as: paragraphs (separated by blank lines),
//! headings (`#`..`######` at the start of a block; `#` to `###` become
//! `<h4>`, the level under an operation's title), bulleted lists (blocks
//! whose lines all start with `- ` or `* `) and `code` spans. Everything
//! else, links and emphasis included, is shown as escaped text: no
//! description can inject markup into the page.

/// `text` with `&`, `<`, `>`, `"` and `'` escaped: safe in element
/// content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A description as HTML blocks (see the module documentation).
pub fn markdown(text: &str) -> String {
    blocks(text)
        .iter()
        .map(|block| render_block(block))
        .collect()
}

/// Short text (a summary, a caption) as inline HTML, where blocks do not
/// fit: code spans are kept, everything else escaped.
pub fn inline(text: &str) -> String {
    code_spans(text)
}

/// The blocks of `text`: runs of non-blank lines.
fn blocks(text: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

fn render_block(lines: &[&str]) -> String {
    if let Some((level, title)) = lines.first().and_then(|first| heading(first)) {
        let rest = &lines[1..];
        let tag = format!("h{}", (level.saturating_sub(3) + 4).min(6));
        let heading = format!("<{tag} class=\"md\">{}</{tag}>", code_spans(title));
        return if rest.is_empty() {
            heading
        } else {
            heading + &render_block(rest)
        };
    }
    if lines.iter().all(|line| list_item(line).is_some()) {
        let items: String = lines
            .iter()
            .filter_map(|line| list_item(line))
            .map(|item| format!("<li>{}</li>", code_spans(item)))
            .collect();
        return format!("<ul>{items}</ul>");
    }
    let joined: Vec<&str> = lines.iter().map(|line| line.trim()).collect();
    format!("<p>{}</p>", code_spans(&joined.join(" ")))
}

/// The level and title of a heading line (`### Title`).
fn heading(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    let title = trimmed[level..].strip_prefix(' ')?;
    (1..=6).contains(&level).then_some((level, title.trim()))
}

/// The text of a list item line (`- item` or `* item`).
fn list_item(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
}

/// `text` escaped, with `` `code` `` spans as `<code>`. An unmatched
/// backtick stays a backtick.
fn code_spans(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let complete_pairs = (parts.len() - 1) / 2;
    let mut html = String::with_capacity(text.len());
    for (index, part) in parts.iter().enumerate() {
        let in_code = index % 2 == 1 && index <= complete_pairs * 2;
        if in_code {
            html.push_str(&format!("<code>{}</code>", escape(part)));
        } else {
            if index > complete_pairs * 2 {
                html.push('`');
            }
            html.push_str(&escape(part));
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn paragraphs_headings_lists_and_code() {
        let html = markdown("### Get it\n\nOne `a<b`\nline.\n\n- first\n- `second`");
        assert_eq!(
            html,
            "<h4 class=\"md\">Get it</h4><p>One <code>a&lt;b</code> line.</p>\
             <ul><li>first</li><li><code>second</code></li></ul>"
        );
    }

    #[test]
    fn a_heading_caps_at_h6_and_needs_a_space() {
        assert_eq!(markdown("# Top"), "<h4 class=\"md\">Top</h4>");
        assert_eq!(markdown("###### Deep"), "<h6 class=\"md\">Deep</h6>");
        assert_eq!(markdown("#tag"), "<p>#tag</p>");
    }

    #[test]
    fn an_unmatched_backtick_stays() {
        assert_eq!(inline("a `b` c ` d"), "a <code>b</code> c ` d");
        assert_eq!(inline("no code"), "no code");
    }

    #[test]
    fn links_and_html_stay_text() {
        assert_eq!(
            markdown("[x](javascript:1) <script>"),
            "<p>[x](javascript:1) &lt;script&gt;</p>"
        );
    }
}
