//! The event view: what a rule may ask of an event.
//!
//! Rules never see CSV columns. They ask for a logical [`F`]ield through the
//! one-method [`Event`] trait and get back a [`Field`]: a borrowed value, or
//! `Missing` (absent column, empty value, Windows' `-` placeholder, or nothing in
//! `_raw` either).
//! Missing is its own state so a rule can tell "the event says no" from "the
//! event does not say".
//!
//! Each logical field has a list of source names, covering the Splunk Add-on
//! for Microsoft Windows (XmlWinEventLog), classic WinEventLog extractions and
//! CIM names. [`Schema`] resolves them once per chunk header, so a lookup on a
//! row is a few index reads. When a row has no extracted fields but an XML
//! `_raw`, [`crate::event::raw_xml`] parses it once and the same names are looked up
//! there.

pub mod kind;
pub mod pairs;
pub mod raw_xml;

use std::borrow::Cow;

pub use crate::event::pairs::PairsEvent;

/// The value of one logical field of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<'a> {
    /// The event does not carry this field (or carries it empty).
    Missing,
    /// The field's value.
    Value(Cow<'a, str>),
}

impl<'a> Field<'a> {
    /// The value, or `None` when missing.
    pub fn value(&self) -> Option<&str> {
        match self {
            Field::Missing => None,
            Field::Value(v) => Some(v),
        }
    }

    /// The value with its own lifetime, or `None` when missing.
    pub fn value_cow(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Missing => None,
            Field::Value(v) => Some(v),
        }
    }

    /// The value, or `""` when missing.
    pub fn or_empty(&self) -> &str {
        self.value().unwrap_or("")
    }
}

/// One event, as rules see it.
pub trait Event {
    /// The value of a logical field.
    fn get(&self, field: F) -> Field<'_>;
}

macro_rules! logical_fields {
    ($($name:ident => [$($src:literal),+ $(,)?]),+ $(,)?) => {
        /// A logical field, resolved through a list of source field names
        /// (first non-empty wins).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // the names say it; the source lists are in `sources`
        pub enum F { $($name),+ }

        impl F {
            /// Every logical field.
            pub const ALL: &'static [F] = &[$(F::$name),+];

            /// The source field names, in order of preference.
            pub fn sources(self) -> &'static [&'static str] {
                match self { $(F::$name => &[$($src),+]),+ }
            }
        }
    };
}

logical_fields! {
    EventCode => ["EventCode", "EventID", "signature_id"],
    Source => ["source"],
    SourceType => ["sourcetype"],
    Channel => ["Channel", "LogName"],
    Computer => ["Computer", "ComputerName", "dest"],
    Host => ["host"],
    Time => ["_time"],
    Raw => ["_raw"],
    Message => ["Message"],
    Image => ["Image", "NewProcessName", "New_Process_Name", "process_path", "process_name"],
    OriginalFileName => ["OriginalFileName", "original_file_name"],
    CommandLine => ["CommandLine", "Process_Command_Line", "process"],
    ParentImage => ["ParentImage", "ParentProcessName", "Creator_Process_Name", "parent_process_path", "parent_process_name"],
    ParentCommandLine => ["ParentCommandLine", "parent_process"],
    User => ["User", "user", "TargetUserName", "SubjectUserName", "Account_Name", "UserID"],
    UserId => ["UserID", "user_id"],
    LogonId => ["LogonId", "TargetLogonId", "Logon_ID"],
    ScriptBlockText => ["ScriptBlockText"],
    ContextInfo => ["ContextInfo"],
    Payload => ["Payload"],
    HostName => ["HostName"],
    HostApplication => ["HostApplication"],
    ProviderName => ["ProviderName"],
    PsData => ["Data", "Data_3", "Data_2", "Data_1"],
    Connection => ["connection"],
    ResourceUri => ["resourceUri"],
    WinrmErrorCode => ["errorCode"],
    OperationName => ["operationName"],
    Url => ["url"],
    Port => ["port"],
    Auth => ["auth"],
    Username => ["username"],
    AuthMechanism => ["authenticationMechanism"],
    AuthFailureMessage => ["authFailureMessage"],
    EventPayload => ["EventPayload"],
    Initiated => ["Initiated"],
    Direction => ["Direction"],
    DestIp => ["DestinationIp", "DestAddress", "Destination_Address", "dest_ip"],
    DestHostname => ["DestinationHostname"],
    DestPort => ["DestinationPort", "DestPort", "Destination_Port", "dest_port"],
    SrcIp => ["SourceIp", "SourceAddress", "Source_Address", "src_ip"],
    Application => ["Application", "Application_Name", "app"],
    TargetServerName => ["TargetServerName", "Target_Server_Name"],
    TargetInfo => ["TargetInfo"],
    ProcessName => ["ProcessName", "Process_Name"],
    SubjectUserName => ["SubjectUserName"],
    TargetUserName => ["TargetUserName"],
    SourceImage => ["SourceImage"],
    TargetImage => ["TargetImage"],
    GrantedAccess => ["GrantedAccess"],
    WmiConsumer => ["Consumer", "CONSUMER", "Destination"],
    WmiType => ["Type"],
    WmiQuery => ["Query", "NotificationQuery"],
    WmiOperation => ["Operation", "EventType"],
    WmiPossibleCause => ["PossibleCause"],
    WmiNamespace => ["Namespace", "EventNamespace", "NamespaceName"],
    WmiProvider => ["ProviderName", "Provider", "ProviderPath"],
    WmiClientMachine => ["ClientMachine"],
    WmiUser => ["User"],
    WmiName => ["Name"],
    RelativeTargetName => ["RelativeTargetName"],
    LogonType => ["LogonType", "Logon_Type"],
    IpAddress => ["IpAddress", "Source_Network_Address"],
    TargetLogonId => ["TargetLogonId"],
    SubjectLogonId => ["SubjectLogonId", "Logon_ID"],
    ServiceName => ["ServiceName", "Service_Name"],
    ServiceFile => ["ImagePath", "ServiceFileName", "Service_File_Name"],
    ShareName => ["ShareName", "Share_Name"],
    TaskName => ["TaskName", "Task_Name"],
    TaskContent => ["TaskContent", "Task_Content"],
    RdpClient => ["Param3", "Address"],
    RdpUser => ["Param1", "User"],
    TargetUserSid => ["TargetUserSid"],
    TargetFilename => ["TargetFilename"],
    ImageLoaded => ["ImageLoaded"],
    TargetObject => ["TargetObject", "registry_path"],
    Details => ["Details", "registry_value_data"],
    ProcessGuid => ["ProcessGuid", "process_guid"],
    ParentProcessGuid => ["ParentProcessGuid", "parent_process_guid"],
    RecordId => ["EventRecordID", "RecordNumber", "record_id"],
}

/// Per-chunk resolution of logical fields to column indices.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// For each logical field (by `F as usize`), the present columns in
    /// order of preference.
    columns: Vec<Vec<usize>>,
}

impl Schema {
    /// Resolves every logical field against a chunk's header.
    pub fn new<'h>(header: impl IntoIterator<Item = &'h [u8]>) -> Schema {
        let names: Vec<&[u8]> = header.into_iter().collect();
        let columns = F::ALL
            .iter()
            .map(|f| {
                f.sources()
                    .iter()
                    .filter_map(|s| names.iter().position(|n| *n == s.as_bytes()))
                    .collect()
            })
            .collect();
        Schema { columns }
    }

    /// The candidate columns of a logical field.
    pub fn columns(&self, f: F) -> &[usize] {
        &self.columns[f as usize]
    }
}

/// A CSV row's fields by position: an owned `csv::ByteRecord`, or a
/// [`crate::csvio::read::Row`] of spans into the chunk body.
pub trait Fields {
    /// Field `i`, if the row has it.
    fn field(&self, i: usize) -> Option<&[u8]>;
}

impl Fields for csv::ByteRecord {
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i)
    }
}

/// One CSV row seen through a chunk's [`Schema`], with the fields of an XML
/// `_raw` behind it when the row itself has none.
pub struct RowEvent<'r> {
    schema: &'r Schema,
    record: &'r dyn Fields,
    xml: Option<PairsEvent<'static>>,
    /// The event code, looked up once (every rule path asks for it).
    event_code: Option<Cow<'r, str>>,
}

impl<'r> RowEvent<'r> {
    /// Views a row. When the row carries no event code but its `_raw` is XML,
    /// the XML is parsed (once) and used as a fallback for every field.
    pub fn new(schema: &'r Schema, record: &'r dyn Fields) -> Self {
        let mut ev = RowEvent::columns_only(schema, record);
        if ev.event_code.is_none() {
            if let Some(raw) = ev.column_value(F::Raw) {
                if raw.trim_start().starts_with('<') {
                    ev.xml = crate::event::raw_xml::parse_event(&raw);
                }
            }
        }
        ev
    }

    /// As [`RowEvent::new`], with the fields of the row's XML `_raw`
    /// already read (as [`crate::event::raw_xml::parse_event`] reads them):
    /// they are used when the row carries no event code, and `_raw` is not
    /// parsed again.
    pub fn with_xml(schema: &'r Schema, record: &'r dyn Fields, xml: PairsEvent<'static>) -> Self {
        let mut ev = RowEvent::columns_only(schema, record);
        if ev.event_code.is_none() {
            ev.xml = Some(xml);
        }
        ev
    }

    /// The row's own columns, its event code looked up.
    fn columns_only(schema: &'r Schema, record: &'r dyn Fields) -> Self {
        let mut ev = RowEvent {
            schema,
            record,
            xml: None,
            event_code: None,
        };
        ev.event_code = ev.column_value(F::EventCode);
        ev
    }

    fn column_value(&self, field: F) -> Option<Cow<'r, str>> {
        for &i in self.schema.columns(field) {
            if let Some(bytes) = self.record.field(i) {
                if !bytes.is_empty() && bytes != b"-" {
                    // Fields are checked one by one, when a rule asks: most
                    // rows are decided on two short fields.
                    return Some(match std::str::from_utf8(bytes) {
                        Ok(v) => Cow::Borrowed(v),
                        Err(_) => String::from_utf8_lossy(bytes),
                    });
                }
            }
        }
        None
    }

    /// True when the fields came from parsing `_raw`.
    pub fn from_raw_xml(&self) -> bool {
        self.xml.is_some()
    }
}

impl Event for RowEvent<'_> {
    fn get(&self, field: F) -> Field<'_> {
        if field == F::EventCode {
            if let Some(code) = &self.event_code {
                return Field::Value(Cow::Borrowed(code));
            }
        }
        if let Some(v) = self.column_value(field) {
            return Field::Value(v);
        }
        match (&self.xml, field) {
            // `_raw` itself and Splunk metadata never come from inside the XML.
            (_, F::Raw | F::Source | F::SourceType | F::Host | F::Time) => Field::Missing,
            (Some(x), _) => x.get(field),
            (None, _) => Field::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_empty_alias_wins_per_row() {
        let header: Vec<&[u8]> = vec![b"Image", b"NewProcessName", b"EventCode"];
        let schema = Schema::new(header);
        let sysmon = csv::ByteRecord::from(vec!["C:\\a.exe", "", "1"]);
        let sec = csv::ByteRecord::from(vec!["", "C:\\b.exe", "4688"]);
        assert_eq!(
            RowEvent::new(&schema, &sysmon).get(F::Image).value(),
            Some("C:\\a.exe")
        );
        assert_eq!(
            RowEvent::new(&schema, &sec).get(F::Image).value(),
            Some("C:\\b.exe")
        );
        assert_eq!(
            RowEvent::new(&schema, &sec).get(F::CommandLine),
            Field::Missing
        );
    }

    #[test]
    fn raw_xml_is_the_fallback_when_no_fields_were_extracted() {
        let header: Vec<&[u8]> = vec![b"_raw", b"host"];
        let schema = Schema::new(header);
        let raw = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>6</EventID><Channel>Microsoft-Windows-WinRM/Operational</Channel><Computer>WKS01.corp.example</Computer></System><EventData><Data Name='connection'>SRV02/wsman</Data></EventData></Event>";
        let rec = csv::ByteRecord::from(vec![raw, "WKS01"]);
        let ev = RowEvent::new(&schema, &rec);
        assert!(ev.from_raw_xml());
        assert_eq!(ev.get(F::EventCode).value(), Some("6"));
        assert_eq!(ev.get(F::Connection).value(), Some("SRV02/wsman"));
        assert_eq!(ev.get(F::Host).value(), Some("WKS01"));
    }
}
