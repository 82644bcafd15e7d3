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

/// One logged entry: an invocation (else a binding), its cmdlet, where its
/// line starts and where its body does.
struct Entry<'p> {
    invocation: bool,
    cmdlet: &'p str,
    start: usize,
    body: usize,
}

/// The entries in order: every line that starts
/// `CommandInvocation(<cmdlet>): ` or `ParameterBinding(<cmdlet>): ` (the
/// cmdlet holding no `)` or line break). Lines are found with `str::find`,
/// which is what makes this cheap on the long payloads of real sessions.
fn entries(payload: &str) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let line = &payload[at..];
        if let Some((invocation, cmdlet, head)) = entry_head(line) {
            out.push(Entry {
                invocation,
                cmdlet,
                start: at,
                body: at + head,
            });
        }
        match line.find('\n') {
            Some(i) => at += i + 1,
            None => return out,
        }
    }
}

/// An entry's kind, cmdlet and header length, if `line` starts one.
fn entry_head(line: &str) -> Option<(bool, &str, usize)> {
    let (invocation, rest) = match line.strip_prefix("CommandInvocation(") {
        Some(rest) => (true, rest),
        None => (false, line.strip_prefix("ParameterBinding(")?),
    };
    let close = rest.find([')', '\r', '\n'])?;
    rest[close..].starts_with("): ").then(|| {
        let head = line.len() - rest.len() + close + 3;
        (invocation, &rest[..close], head)
    })
}

/// The payload's commands as PowerShell source, one a line; "" when the
/// payload holds no `CommandInvocation` / `ParameterBinding` entry.
pub fn commands(payload: &str) -> String {
    let entries = entries(payload);
    let mut out = String::with_capacity(if entries.is_empty() { 0 } else { payload.len() });
    let mut current: Option<&str> = None;
    for (i, e) in entries.iter().enumerate() {
        let end = entries.get(i + 1).map_or(payload.len(), |n| n.start);
        let body = payload[e.body..end].trim_end_matches(['\r', '\n']);
        if current != Some(e.cmdlet) || e.invocation {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(e.cmdlet);
            current = Some(e.cmdlet);
        }
        if !e.invocation {
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
    for (i, part) in value.split('\'').enumerate() {
        if i > 0 {
            out.push_str("''");
        }
        out.push_str(part);
    }
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
        // An entry starts a line; its cmdlet holds no `)` or line break.
        let odd = "x CommandInvocation(Get-Date): \"Get-Date\"\r\n\
                   CommandInvocation(Get\rDate): \"Get-Date\"\r\n\
                   CommandInvocation(Get-Item): no\r\n\
                   ParameterBinding(Get-Item): name=\"Path\"; value=\"C:\\\"\r\n";
        assert_eq!(commands(odd), "Get-Item -Path 'C:\\'");
        let last = "CommandInvocation(Get-Date): \"Get-Date\"";
        assert_eq!(commands(last), "Get-Date");
    }
}
