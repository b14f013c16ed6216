//! `--config FILE`: a JSON object whose keys are long option names (`{"model": "dense",
//! "epochs": 20, "hidden": [256, 64]}`), expanded into options placed before those typed on the
//! command line, which therefore win.

use anyhow::{anyhow, Result};

/// Replaces `--config FILE` (or `--config=FILE`) in `args` by the options the file holds.
pub fn expand(args: Vec<String>) -> Result<Vec<String>> {
    let pos = args.iter().position(|a| a == "--config" || a.starts_with("--config="));
    let Some(pos) = pos else { return Ok(args) };
    let (path, consumed) = match args[pos].strip_prefix("--config=") {
        Some(p) => (p.to_string(), 1),
        None => (args.get(pos + 1).cloned().ok_or_else(|| anyhow!("--config needs a file"))?, 2),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow!("cannot read config file {path}: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| anyhow!("{path}: not valid JSON: {e}"))?;
    let obj = json.as_object().ok_or_else(|| anyhow!("{path}: expected a JSON object of option names and values"))?;
    let mut opts = Vec::new();
    for (key, value) in obj {
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            serde_json::Value::Bool(true) => opts.push(flag),
            serde_json::Value::Bool(false) | serde_json::Value::Null => {}
            serde_json::Value::String(s) => opts.extend([flag, s.clone()]),
            serde_json::Value::Number(n) => opts.extend([flag, n.to_string()]),
            serde_json::Value::Array(items) => {
                let parts: Result<Vec<String>> = items
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => Ok(s.clone()),
                        serde_json::Value::Number(n) => Ok(n.to_string()),
                        other => Err(anyhow!("{path}: option {key:?}: list item {other} is not a number or string")),
                    })
                    .collect();
                opts.extend([flag, parts?.join(",")]);
            }
            serde_json::Value::Object(_) => return Err(anyhow!("{path}: option {key:?}: nested objects are not options")),
        }
    }
    // Options from the file go right after the subcommand (the first non-option argument).
    let mut out: Vec<String> = Vec::with_capacity(args.len() + opts.len());
    out.extend(args[..pos].iter().cloned());
    out.extend(args[pos + consumed..].iter().cloned());
    let sub = out.iter().skip(1).position(|a| !a.starts_with('-')).map(|i| i + 2).unwrap_or(out.len());
    out.splice(sub..sub, opts);
    Ok(out)
}
