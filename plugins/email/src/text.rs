//! The new part of a reply: what the customer wrote, without the quoted
//! conversation below it or their signature.

/// Cuts the text at the first reliable marker of quoted text ("On … wrote:"
/// followed by `>` lines, a run of `>` lines, an Outlook "Original Message"
/// separator) or of a signature (the standard `-- ` line). When cutting would
/// leave nothing, the text is kept whole.
pub fn strip_quotes_and_signature(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut cut = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        let quoted_next = lines[i + 1..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with('>'));
        let is_marker = t == "--"
            || *line == "-- "
            || t.starts_with("-----Original Message-----")
            || (t.starts_with('>')
                && lines[i..]
                    .iter()
                    .all(|l| l.starts_with('>') || l.trim().is_empty()))
            || (t.starts_with("On ") && t.ends_with("wrote:") && quoted_next);
        if is_marker {
            cut = i;
            break;
        }
    }
    let kept = lines[..cut].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        text.trim().to_owned()
    } else {
        kept.to_owned()
    }
}
