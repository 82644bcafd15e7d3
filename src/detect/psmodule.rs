//! PowerShell module logging (PowerShell/Operational 4103) read the way
//! Windows writes it: the event's `Payload` holds one
//! `CommandInvocation(<Cmdlet>): "<Cmdlet>"` line per command run and one
//! `ParameterBinding(<Cmdlet>): name="<Name>"; value="<Value>"` line per
//! parameter it was given (a positional one has `name=""`; a value may run
//! over several lines). [`commands`] turns that back into PowerShell source
//! (`Invoke-Command -ComputerName 'SRV03' -ScriptBlock 'whoami'`), one
//! command a line, so the rules that read command lines and script blocks
//! read module logging too, and the targets come out of the
//! `-ComputerName` / `-ConnectionUri` bindings the same way.

use std::sync::OnceLock;

use regex::Regex;

/// Where each logged entry starts: at a line start, its kind and cmdlet.
fn entry_start() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?m)^(CommandInvocation|ParameterBinding)\(([^)\r\n]*)\): ")
            .expect("the entry pattern")
    })
}

/// The payload's commands as PowerShell source, one a line; "" when the
/// payload holds no `CommandInvocation` / `ParameterBinding` entry.
pub fn commands(payload: &str) -> String {
    let starts: Vec<_> = entry_start().captures_iter(payload).collect();
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for (i, c) in starts.iter().enumerate() {
        let whole = c.get(0).expect("group 0");
        let end = starts
            .get(i + 1)
            .map_or(payload.len(), |n| n.get(0).expect("group 0").start());
        let body = payload[whole.end()..end].trim_end_matches(['\r', '\n']);
        let cmdlet = c.get(2).map_or("", |m| m.as_str());
        if current != Some(cmdlet) || &c[1] == "CommandInvocation" {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(cmdlet);
            current = Some(cmdlet);
        }
        if &c[1] == "ParameterBinding" {
            push_binding(&mut out, body);
        }
    }
    out
}

/// ` -Name 'Value'` (or ` 'Value'` when positional) for one
/// `name="N"; value="V"` body; quotes in the value are doubled, as in a
/// PowerShell single-quoted string.
fn push_binding(out: &mut String, body: &str) {
    let Some(rest) = body.strip_prefix("name=\"") else {
        return;
    };
    let Some((name, rest)) = rest.split_once("\"; value=\"") else {
        return;
    };
    let value = rest.strip_suffix('"').unwrap_or(rest);
    if !name.is_empty() {
        out.push_str(" -");
        out.push_str(name);
    }
    out.push_str(" '");
    out.push_str(&value.replace('\'', "''"));
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::commands;

    #[test]
    fn issue17_module_logging_payload_reads_as_commands() {
        // The shape of a real payload (Mordor's Empire recording), with the
        // parameters of a remoting command.
        let p = "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\n\
                 ParameterBinding(Invoke-Command): name=\"ComputerName\"; value=\"SRV03\"\r\n\
                 ParameterBinding(Invoke-Command): name=\"ScriptBlock\"; value=\"whoami\n hostname\"\r\n";
        assert_eq!(
            commands(p),
            "Invoke-Command -ComputerName 'SRV03' -ScriptBlock 'whoami\n hostname'"
        );
        let two = "CommandInvocation(Start-Sleep): \"Start-Sleep\"\r\n\
                   ParameterBinding(Start-Sleep): name=\"Seconds\"; value=\"5\"\r\n\
                   CommandInvocation(Out-Null): \"Out-Null\"\r\n\
                   ParameterBinding(Out-Null): name=\"\"; value=\"it's\"\r\n";
        assert_eq!(commands(two), "Start-Sleep -Seconds '5'\nOut-Null 'it''s'");
        assert_eq!(commands("Invoke-Command -ComputerName SRV03"), "");
        assert_eq!(commands(""), "");
    }
}
