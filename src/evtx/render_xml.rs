//! The long way to a rendered record: the `evtx` crate's own XML (double
//! quotes, a declaration, explicit end tags, bare GUIDs) read with
//! quick-xml and written again as Windows writes it. Records the direct
//! renderer ([`super::render_tree`]) does not take come this way, and the
//! tests hold the two routes equal.

use quick_xml::events::{BytesEnd, BytesStart, Event as XmlEvent};
use quick_xml::Reader;

use super::escape::{escape_into, Quotes};
use super::time::parse_system_time;
use super::{guid_braced, Fields, RecordError, Rendered};

/// Renders the `evtx` crate's XML of one record as Windows does.
/// `header_time` (the record header's) stands in for a missing
/// `TimeCreated`.
pub fn render(
    crate_xml: &str,
    record_id: u64,
    header_time: Option<f64>,
) -> Result<Rendered, RecordError> {
    let mut reader = Reader::from_str(crate_xml);
    let mut w = XmlRender {
        out: String::with_capacity(crate_xml.len()),
        open: false,
        path: Vec::new(),
        fields: Fields::default(),
    };
    loop {
        match reader.read_event()? {
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) | XmlEvent::DocType(_) => {}
            XmlEvent::Start(e) => w.start(&e)?,
            XmlEvent::Empty(e) => w.empty(&e)?,
            XmlEvent::Text(t) => w.text(&t.unescape()?),
            XmlEvent::CData(t) => w.cdata(&String::from_utf8_lossy(&t)),
            XmlEvent::End(e) => w.end(&e),
            XmlEvent::Eof => break,
        }
    }
    w.fields.finish(w.out, record_id, header_time)
}

/// The XML being written, one reader event at a time.
struct XmlRender {
    out: String,
    /// A start tag waits for `>` or `/>`.
    open: bool,
    /// The names of the open elements.
    path: Vec<String>,
    fields: Fields,
}

impl XmlRender {
    /// Writes the `>` a start tag waits for, if one does.
    fn close_start_tag(&mut self) {
        if std::mem::take(&mut self.open) {
            self.out.push('>');
        }
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), RecordError> {
        self.close_start_tag();
        let name = self.start_tag(e)?;
        self.path.push(name);
        self.open = true;
        Ok(())
    }

    fn empty(&mut self, e: &BytesStart<'_>) -> Result<(), RecordError> {
        self.close_start_tag();
        self.start_tag(e)?;
        self.out.push_str("/>");
        Ok(())
    }

    /// Writes `<name a='v' …` (without the closing `>`) and takes the time
    /// of `TimeCreated`; returns the name.
    fn start_tag(&mut self, e: &BytesStart<'_>) -> Result<String, RecordError> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        self.out.push('<');
        self.out.push_str(&name);
        for a in e.attributes() {
            let a = a?;
            let value = a.unescape_value()?;
            self.out.push(' ');
            self.out.push_str(&String::from_utf8_lossy(a.key.as_ref()));
            self.out.push_str("='");
            escape_into(&mut self.out, &guid_braced(&value), Quotes::Escaped);
            self.out.push('\'');
        }
        if name == "TimeCreated" {
            self.fields.time = attr(e, "SystemTime").and_then(|t| parse_system_time(&t));
        }
        Ok(name)
    }

    fn text(&mut self, text: &str) {
        // Nothing outside the root element (the crate's line end after its
        // declaration).
        if text.is_empty() || self.path.is_empty() {
            return;
        }
        self.close_start_tag();
        let value = guid_braced(text);
        if let Some(element) = self.path.last() {
            self.fields.text(element, &value);
        }
        escape_into(&mut self.out, &value, Quotes::Escaped);
    }

    fn cdata(&mut self, text: &str) {
        self.close_start_tag();
        escape_into(&mut self.out, text, Quotes::Escaped);
    }

    fn end(&mut self, e: &BytesEnd<'_>) {
        self.path.pop();
        if std::mem::take(&mut self.open) {
            self.out.push_str("/>");
        } else {
            self.out.push_str("</");
            self.out
                .push_str(&String::from_utf8_lossy(e.name().as_ref()));
            self.out.push('>');
        }
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_windows_add_on() {
        let crate_xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"Microsoft-Windows-Security-Auditing\" Guid=\"54849625-5478-4994-A5BA-3E3B0328C30D\"></Provider><EventID>4688</EventID><TimeCreated SystemTime=\"2021-04-26T08:25:36.560801Z\"></TimeCreated><EventRecordID>7</EventRecordID><Correlation></Correlation><Channel>Security</Channel><Computer>srv01.offsec.lan</Computer><Security></Security></System><EventData><Data Name=\"CommandLine\">cmd.exe /Q /c cd 1&gt; \\\\127.0.0.1\\ADMIN$\\__1 2&gt;&amp;1 &quot;x&quot; 'y' é</Data><Data Name=\"Empty\"></Data></EventData></Event>";
        let r = render(crate_xml, 7, None).unwrap();
        assert_eq!(
            r.xml,
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4688</EventID><TimeCreated SystemTime='2021-04-26T08:25:36.560801Z'/><EventRecordID>7</EventRecordID><Correlation/><Channel>Security</Channel><Computer>srv01.offsec.lan</Computer><Security/></System><EventData><Data Name='CommandLine'>cmd.exe /Q /c cd 1&gt; \\\\127.0.0.1\\ADMIN$\\__1 2&gt;&amp;1 &quot;x&quot; &apos;y&apos; é</Data><Data Name='Empty'/></EventData></Event>"
        );
        assert_eq!(
            (r.channel.as_str(), r.computer.as_str()),
            ("Security", "srv01.offsec.lan")
        );
        assert_eq!(r.event_id, 4688);
        assert!((r.time - 1_619_425_536.560_801).abs() < 1e-6);
    }

    /// A record without EventID or TimeCreated is an error that says which;
    /// the header's time stands in for TimeCreated.
    #[test]
    fn a_missing_event_id_or_time_is_named() {
        let no_id =
            "<Event><System><TimeCreated SystemTime=\"2021-04-26T08:25:36Z\"/></System></Event>";
        let no_time = "<Event><System><EventID>1</EventID></System></Event>";
        let err = |xml| render(xml, 3, None).unwrap_err().to_string();
        assert_eq!(err(no_id), "no EventID");
        assert_eq!(err(no_time), "no TimeCreated");
        assert_eq!(render(no_time, 3, Some(12.5)).unwrap().time, 12.5);
    }
}
