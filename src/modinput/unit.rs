//! What goes down the pipe to splunkd: one `<event>` element per record,
//! packed into units that each land whole. A unit is at most `PIPE_BUF`
//! bytes, which any write delivers whole, or at most the room the pipe has
//! (up to 64 KiB; Linux), which a write takes without waiting; either way a
//! kill cannot cut it.

use std::io::Write;

use super::Stanza;
use crate::evtx::escape::{escape_into, Quotes};
use crate::evtx::Rendered;

/// Bytes one write to a pipe delivers whole whatever happens (`PIPE_BUF`
/// on Linux): the least a unit of events may be.
pub(super) const PIPE_BUF: usize = 4096;

/// The most a unit of events may be: a write this size, into a pipe with
/// room for it, does not wait, so it lands whole too.
pub(super) const MAX_UNIT: usize = 65536;

/// How many bytes the next write to standard output can take without
/// waiting (so it lands whole even if the process is killed): what
/// [`super::stream`] sizes its writes by.
pub type Room<'a> = dyn FnMut() -> usize + 'a;

/// The room of standard output. Linux: for a pipe, its free pages less two
/// (a partly read and a partly written one), after its size is raised to
/// 1 MiB; for a file, 64 KiB (the most a unit may be). Elsewhere
/// `PIPE_BUF`: no more is known.
pub fn stdout_room(out: &std::fs::File) -> Box<Room<'_>> {
    #[cfg(target_os = "linux")]
    {
        if let Ok(size) = rustix::pipe::fcntl_getpipe_size(out) {
            let size = rustix::pipe::fcntl_setpipe_size(out, 1 << 20).unwrap_or(size);
            return Box::new(move || match rustix::io::ioctl_fionread(out) {
                Ok(queued) => {
                    let used = (queued as usize).div_ceil(PIPE_BUF) + 2;
                    (size / PIPE_BUF).saturating_sub(used) * PIPE_BUF
                }
                Err(_) => 0,
            });
        }
        Box::new(|| MAX_UNIT)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = out;
        Box::new(|| PIPE_BUF)
    }
}

/// One `<event>` element. Its contents are text, so quotes stay as they
/// are (`Quotes::Kept`): the rendered event's single-quoted attributes
/// reach Splunk as written.
pub fn event_xml(out: &mut Vec<u8>, stanza: &Stanza, r: &Rendered) {
    out.extend_from_slice(b"<event stanza=\"");
    // FIXME: the `&` of this `&quot;` is escaped again (`&amp;quot;`), so a
    // stanza name with `"` reaches splunkd as `&quot;`; kept byte for byte
    // through issue 12 (escaping with `Quotes::Escaped` instead is the fix).
    escape_into(out, &stanza.name.replace('"', "&quot;"), Quotes::Kept);
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\" unbroken=\"1\"><time>{:.3}</time><source>", r.time);
    out.extend_from_slice(b"XmlWinEventLog:");
    escape_into(out, &r.channel, Quotes::Kept);
    out.extend_from_slice(b"</source><sourcetype>XmlWinEventLog</sourcetype>");
    if let Some(i) = &stanza.index {
        out.extend_from_slice(b"<index>");
        escape_into(out, i, Quotes::Kept);
        out.extend_from_slice(b"</index>");
    }
    let host = if stanza.host_from_computer && !r.computer.is_empty() {
        Some(r.computer.as_str())
    } else {
        stanza.host.as_deref()
    };
    if let Some(h) = host {
        out.extend_from_slice(b"<host>");
        escape_into(out, h, Quotes::Kept);
        out.extend_from_slice(b"</host>");
    }
    out.extend_from_slice(b"<data>");
    escape_into(out, &r.xml, Quotes::Kept);
    out.extend_from_slice(b"</data><done/></event>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's bytes: the rendered XML escaped as text (its `'` kept),
    /// the host from Computer, and the stanza name as 553877b wrote it.
    #[test]
    fn an_event_element_byte_for_byte() {
        let stanza = Stanza {
            name: "evtx_input://a\"b&c".into(),
            index: Some("win<1>".into()),
            host: Some("collector".into()),
            host_from_computer: true,
            ..Stanza::default()
        };
        let r = Rendered {
            xml: "<Event><Data Name='x'>a &amp; &apos;b&apos;</Data></Event>".into(),
            channel: "Security".into(),
            computer: "srv01".into(),
            event_id: 4688,
            time: 1_619_425_536.560_801,
            record_id: 7,
            pairs: None,
        };
        let mut out = Vec::new();
        event_xml(&mut out, &stanza, &r);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<event stanza=\"evtx_input://a&amp;quot;b&amp;c\" unbroken=\"1\"><time>1619425536.561</time><source>XmlWinEventLog:Security</source><sourcetype>XmlWinEventLog</sourcetype><index>win&lt;1&gt;</index><host>srv01</host><data>&lt;Event&gt;&lt;Data Name='x'&gt;a &amp;amp; &amp;apos;b&amp;apos;&lt;/Data&gt;&lt;/Event&gt;</data><done/></event>\n"
        );
        let mut out = Vec::new();
        let own_host = Stanza {
            host_from_computer: false,
            ..stanza
        };
        event_xml(&mut out, &own_host, &r);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("<host>collector</host>"));
    }
}
