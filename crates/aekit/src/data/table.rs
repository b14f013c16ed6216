//! Tables read in batches of rows, whatever the file format: [`RowSource`] is what the CSV and
//! Parquet readers share, so training data and streamed scoring see the same columns, checks
//! and messages. [`open`] picks the reader by the file's extension.

use std::path::Path;

use super::dataset::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// Up to `n` rows of a [`RowSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct RowBatch {
    /// The feature values, row after row: `[n_rows * F]` with F = the number of feature columns.
    pub rows: Vec<f32>,
    /// One label per row when the file has the label column.
    pub labels: Option<Vec<u32>>,
    /// One time value per row, as text, when a time column was named.
    pub times: Option<Vec<String>>,
    pub n_rows: usize,
}

/// A table read in batches: numeric feature columns and, optionally, one integer label column.
pub trait RowSource {
    /// The file, for messages.
    fn path(&self) -> &Path;
    /// The feature columns' names (without the label column), in file order.
    fn feature_names(&self) -> &[String];
    /// Whether the file holds the label column, so that rows carry labels.
    fn has_labels(&self) -> bool;
    /// Whether a time column was named, so that rows carry times.
    fn has_times(&self) -> bool {
        false
    }
    /// The next up to `n` (at least 1) rows; `None` at the end. A table without any data row is
    /// an error at the first call.
    fn next_batch(&mut self, n: usize) -> Result<Option<RowBatch>>;
}

/// The kinds of table files aekit reads.
pub fn is_table(path: &Path) -> bool {
    matches!(extension(path).as_deref(), Some("csv" | "parquet" | "pq"))
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Opens a table by its extension: `.csv`, or `.parquet`/`.pq`. `label_column` names the column
/// holding integer labels; when the file lacks it, `label_required` makes that an error,
/// otherwise every column is a feature.
pub fn open(path: &Path, label_column: Option<&str>, label_required: bool) -> Result<Box<dyn RowSource>> {
    open_with_time(path, label_column, label_required, None)
}

/// [`open`] with a time column (required when named): not a feature, its values returned as
/// text with each batch (series).
pub fn open_with_time(path: &Path, label_column: Option<&str>, label_required: bool, time_column: Option<&str>) -> Result<Box<dyn RowSource>> {
    match extension(path).as_deref() {
        Some("csv") => Ok(Box::new(super::csv::CsvReader::open_with_time(path, label_column, label_required, time_column)?)),
        Some("parquet" | "pq") => Ok(Box::new(super::parquet::ParquetReader::open_with_time(path, label_column, label_required, time_column)?)),
        _ => Err(Error::input(path, "not a table: expected a .csv or .parquet file")),
    }
}

/// Reads a whole table into a tabular dataset (labels attached when the label column is named;
/// it must then exist).
pub fn load(path: &Path, label_column: Option<&str>) -> Result<Dataset> {
    load_with_time(path, label_column, None)
}

/// [`load`] leaving out a time column (series: rows in file order).
pub fn load_with_time(path: &Path, label_column: Option<&str>, time_column: Option<&str>) -> Result<Dataset> {
    let mut src = open_with_time(path, label_column, true, time_column)?;
    let mut data = Vec::new();
    let mut labels = Vec::new();
    while let Some(b) = src.next_batch(1 << 16)? {
        data.extend_from_slice(&b.rows);
        labels.extend(b.labels.unwrap_or_default());
    }
    let mut ds = Dataset::new(data, SampleShape::Tabular { features: src.feature_names().len() }, None)?;
    if src.has_labels() {
        ds = ds.with_labels(labels)?;
    }
    ds.feature_names = Some(src.feature_names().to_vec());
    Ok(ds)
}
