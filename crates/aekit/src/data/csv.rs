//! CSV files: a header row, numeric columns, optionally one integer label column chosen by name.

use std::path::Path;

use super::dataset::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// Reads a CSV file into a tabular dataset. `label_column` names the column holding integer
/// labels (it is not a feature).
pub fn load_csv(path: &Path, label_column: Option<&str>) -> Result<Dataset> {
    let file =
        std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
    let csv_err = |e: csv::Error| Error::input(path, format!("malformed CSV: {e}"));
    let headers: Vec<String> = rdr.headers().map_err(csv_err)?.iter().map(|h| h.trim().to_string()).collect();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(Error::input(path, "empty file: expected a header row naming the columns"));
    }
    let label_idx = match label_column {
        None => None,
        Some(name) => Some(headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::input(path, format!("no column named {name:?} for labels; the header has {headers:?}"))
        })?),
    };
    let n_cols = headers.len();
    let n_feat = n_cols - label_idx.is_some() as usize;
    if n_feat == 0 {
        return Err(Error::input(path, "no feature columns besides the label column"));
    }
    let mut data = Vec::new();
    let mut labels = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut row = 0usize;
    while rdr.read_record(&mut record).map_err(csv_err)? {
        row += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != n_cols {
            return Err(Error::input(
                path,
                format!("row {row} (line {line}) has {} fields, expected {n_cols} as in the header", record.len()),
            ));
        }
        for (j, cell) in record.iter().enumerate() {
            let cell = cell.trim();
            if Some(j) == label_idx {
                let v: u32 = cell.parse().map_err(|_| {
                    Error::input(
                        path,
                        format!(
                            "row {row} (line {line}), label column {:?}: {cell:?} is not a non-negative integer",
                            headers[j]
                        ),
                    )
                })?;
                labels.push(v);
                continue;
            }
            let v: f32 = cell.parse().map_err(|_| {
                Error::input(
                    path,
                    format!("row {row} (line {line}), column {:?}: {cell:?} is not a number", headers[j]),
                )
            })?;
            if !v.is_finite() {
                return Err(Error::input(
                    path,
                    format!("row {row} (line {line}), column {:?}: {cell:?} is not finite (NaN or infinity)", headers[j]),
                ));
            }
            data.push(v);
        }
    }
    if row == 0 {
        return Err(Error::input(path, "no data rows after the header"));
    }
    let mut ds = Dataset::new(data, SampleShape::Tabular { features: n_feat }, None)?;
    if label_idx.is_some() {
        ds = ds.with_labels(labels)?;
    }
    ds.feature_names =
        Some(headers.into_iter().enumerate().filter(|(j, _)| Some(*j) != label_idx).map(|(_, h)| h).collect());
    Ok(ds)
}
