//! CSV files: a header row, numeric columns, optionally one integer label column chosen by name.
//!
//! [`CsvReader`] streams a file in batches of rows (the anomaly scorer reads files of any
//! length this way); [`load_csv`] reads a whole file with it into a [`Dataset`]. Both give the
//! same messages for the same faults.

use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::table::{RowBatch, RowSource};
use crate::error::{Error, Result};

/// A CSV file read in batches of rows: the header is read and checked by [`CsvReader::open`],
/// each row (field count, numbers, finiteness, the label) by [`CsvReader::next_batch`].
pub struct CsvReader {
    path: PathBuf,
    rdr: csv::Reader<std::fs::File>,
    /// The header's names, trimmed, label column included.
    headers: Vec<String>,
    /// The label column's index in the header, when one was named and found.
    label_idx: Option<usize>,
    /// The time column's index (echoed as text, not a feature), when one was named.
    time_idx: Option<usize>,
    /// The header's names without the label column, in file order.
    features: Vec<String>,
    /// Data rows read so far.
    row: usize,
    record: csv::StringRecord,
}

impl CsvReader {
    /// Opens `path` and reads its header. `label_column` names the column holding integer
    /// labels (it is not a feature); when the header lacks it, `label_required` makes that an
    /// error, otherwise every column is a feature and rows carry no labels.
    pub fn open(path: &Path, label_column: Option<&str>, label_required: bool) -> Result<Self> {
        Self::open_with_time(path, label_column, label_required, None)
    }

    /// [`CsvReader::open`] with a time column: required when named, not a feature, its cells
    /// returned as text with each row.
    pub fn open_with_time(path: &Path, label_column: Option<&str>, label_required: bool, time_column: Option<&str>) -> Result<Self> {
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
            Some(name) => match headers.iter().position(|h| h == name) {
                Some(j) => Some(j),
                None if label_required => {
                    return Err(Error::input(
                        path,
                        format!("no column named {name:?} for labels; the header has {headers:?}"),
                    ))
                }
                None => None,
            },
        };
        let time_idx = match time_column {
            None => None,
            Some(name) => Some(headers.iter().position(|h| h == name).ok_or_else(|| {
                Error::input(path, format!("no column named {name:?} for time; the header has {headers:?}"))
            })?),
        };
        let features: Vec<String> = headers
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != label_idx && Some(*j) != time_idx)
            .map(|(_, h)| h.clone())
            .collect();
        if features.is_empty() {
            return Err(Error::input(path, "no feature columns besides the label column"));
        }
        Ok(CsvReader {
            path: path.to_path_buf(),
            rdr,
            headers,
            label_idx,
            time_idx,
            features,
            row: 0,
            record: csv::StringRecord::new(),
        })
    }

    /// Appends up to `max` rows to `data` (`[b * F]`) and their labels to `labels` (only when
    /// the file has the label column); returns b.
    fn read_rows(&mut self, max: usize, data: &mut Vec<f32>, labels: &mut Vec<u32>, times: &mut Vec<String>) -> Result<usize> {
        let CsvReader { path, rdr, headers, label_idx, time_idx, row, record, .. } = self;
        let time_idx = *time_idx;
        let path: &Path = path;
        let headers: &[String] = headers;
        let label_idx = *label_idx;
        let csv_err = |e: csv::Error| Error::input(path, format!("malformed CSV: {e}"));
        let n_cols = headers.len();
        let mut b = 0usize;
        while b < max && rdr.read_record(record).map_err(csv_err)? {
            *row += 1;
            let row = *row;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() != n_cols {
                return Err(Error::input(
                    path,
                    format!("row {row} (line {line}) has {} fields, expected {n_cols} as in the header", record.len()),
                ));
            }
            for (j, cell) in record.iter().enumerate() {
                let cell = cell.trim();
                if Some(j) == time_idx {
                    times.push(cell.to_string());
                    continue;
                }
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
            b += 1;
        }
        if b == 0 && *row == 0 {
            return Err(Error::input(path, "no data rows after the header"));
        }
        Ok(b)
    }
}

impl RowSource for CsvReader {
    fn path(&self) -> &Path {
        &self.path
    }

    /// The feature columns' names (the header without the label column), in file order.
    fn feature_names(&self) -> &[String] {
        &self.features
    }

    /// Whether the header holds the label column, so that rows carry labels.
    fn has_labels(&self) -> bool {
        self.label_idx.is_some()
    }

    fn has_times(&self) -> bool {
        self.time_idx.is_some()
    }

    /// The next up to `n` (at least 1) rows; `None` at the end of the file. A file without any
    /// data row is an error at the first call.
    fn next_batch(&mut self, n: usize) -> Result<Option<RowBatch>> {
        let n = n.max(1);
        // Capacity for at most 2^16 rows up front: `n` may be large.
        let cap = n.min(1 << 16);
        let mut rows = Vec::with_capacity(cap * self.features.len());
        let mut labels = Vec::with_capacity(if self.label_idx.is_some() { cap } else { 0 });
        let mut times = Vec::new();
        let n_rows = self.read_rows(n, &mut rows, &mut labels, &mut times)?;
        if n_rows == 0 {
            return Ok(None);
        }
        let labels = self.label_idx.map(|_| labels);
        let times = self.time_idx.map(|_| times);
        Ok(Some(RowBatch { rows, labels, times, n_rows }))
    }
}

/// Reads a CSV file into a tabular dataset. `label_column` names the column holding integer
/// labels (it is not a feature).
pub fn load_csv(path: &Path, label_column: Option<&str>) -> Result<Dataset> {
    super::table::load(path, label_column)
}
