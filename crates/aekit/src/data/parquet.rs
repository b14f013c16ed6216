//! Parquet tables (the `parquet` crate's Arrow reader): numeric feature columns of any integer
//! or float type (booleans as 0 and 1) and, optionally, one integer or boolean label column, streamed in record
//! batches so memory stays flat however long the file is. Only the columns used are read.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::table::{RowBatch, RowSource};
use crate::error::{Error, Result};

/// A Parquet file read in batches of rows; see [`super::table::RowSource`].
pub struct ParquetReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    features: Vec<String>,
    /// The label column's name, when the file has it.
    label: Option<String>,
    /// The time column's name, when one was named.
    time: Option<String>,
    /// Rows read so far.
    row: usize,
    /// Rows read but not yet handed out (a record batch can be larger than a request).
    pending: Option<RecordBatch>,
}

/// Column types read as numbers: integers, floats, and booleans (0 or 1).
fn numeric(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Float32 | DataType::Float64 | DataType::Boolean)
}

impl ParquetReader {
    /// Opens `path` and checks its schema: every column but the label column must be numeric.
    pub fn open(path: &Path, label_column: Option<&str>, label_required: bool) -> Result<Self> {
        Self::open_with_time(path, label_column, label_required, None)
    }

    /// [`ParquetReader::open`] with a time column (any type: text, numbers, dates and
    /// timestamps as their stored integers), required when named and not a feature.
    pub fn open_with_time(path: &Path, label_column: Option<&str>, label_required: bool, time_column: Option<&str>) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let bad = |e: parquet::errors::ParquetError| Error::input(path, format!("not a readable Parquet file: {e}"));
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let label_idx = match label_column {
            None => None,
            Some(name) => match names.iter().position(|h| h == name) {
                Some(j) => Some(j),
                None if label_required => {
                    return Err(Error::input(path, format!("no column named {name:?} for labels; the file has {names:?}")))
                }
                None => None,
            },
        };
        let time_idx = match time_column {
            None => None,
            Some(name) => Some(
                names.iter().position(|h| h == name).ok_or_else(|| Error::input(path, format!("no column named {name:?} for time; the file has {names:?}")))?,
            ),
        };
        let mut features = Vec::new();
        let mut indices = Vec::new();
        for (j, f) in schema.fields().iter().enumerate() {
            if Some(j) == time_idx {
                if time_text(&arrow_array::new_empty_array(f.data_type())).is_none() {
                    return Err(Error::input(path, format!("time column {:?} is {}, expected text, numbers, dates or timestamps", f.name(), f.data_type())));
                }
                continue;
            }
            if Some(j) == label_idx {
                if !(f.data_type().is_integer() || matches!(f.data_type(), DataType::Boolean | DataType::Float32 | DataType::Float64)) {
                    return Err(Error::input(path, format!("label column {:?} is {}, expected integers or booleans", f.name(), f.data_type())));
                }
                continue;
            }
            if !numeric(f.data_type()) {
                return Err(Error::input(
                    path,
                    format!("column {:?} is {}, expected numbers (give only numeric columns, and the label column by name)", f.name(), f.data_type()),
                ));
            }
            features.push(f.name().clone());
            indices.push(j);
        }
        if features.is_empty() {
            return Err(Error::input(path, "no feature columns besides the label column"));
        }
        // The projection keeps the file's column order; columns are told apart by name below.
        let mut wanted = indices.clone();
        wanted.extend(label_idx);
        wanted.extend(time_idx);
        wanted.sort_unstable();
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
        let reader = builder.with_projection(mask).with_batch_size(8192).build().map_err(bad)?;
        let label = label_idx.map(|j| names[j].clone());
        let time = time_idx.map(|j| names[j].clone());
        Ok(ParquetReader { path: path.to_path_buf(), reader, features, label, time, row: 0, pending: None })
    }

    /// Converts a record batch (the feature columns and, when present, the label and time
    /// columns, in file order) into row-major values, labels and times.
    fn convert(&self, batch: &RecordBatch, first_row: usize) -> Result<RowBatch> {
        let n = batch.num_rows();
        let f = self.features.len();
        let names: Vec<String> = batch.schema().fields().iter().map(|c| c.name().clone()).collect();
        let mut rows = vec![0.0f32; n * f];
        let mut labels = None;
        let mut times = None;
        let mut k = 0;
        for (j, name) in names.iter().enumerate() {
            let col = batch.column(j);
            if col.null_count() > 0 {
                let i = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
                return Err(Error::input(&self.path, format!("row {}, column {name:?}: a null value", first_row + i + 1)));
            }
            if Some(name) == self.time.as_ref() {
                times = time_text(col.as_ref());
                continue;
            }
            if Some(name) == self.label.as_ref() {
                labels = Some(label_values(col.as_ref(), name, first_row, &self.path)?);
                continue;
            }
            let values = float_values(col.as_ref());
            for (i, v) in values.into_iter().enumerate() {
                if !v.is_finite() {
                    return Err(Error::input(&self.path, format!("row {}, column {name:?}: {v} is not finite (NaN or infinity)", first_row + i + 1)));
                }
                rows[i * f + k] = v;
            }
            k += 1;
        }
        Ok(RowBatch { rows, labels, times, n_rows: n })
    }
}

/// A numeric column as f32 (checked numeric when the file was opened).
fn float_values(col: &dyn Array) -> Vec<f32> {
    wide_values(col).into_iter().map(|v| v as f32).collect()
}

/// A numeric or boolean column as f64: exact for every float, boolean and integer up to 2^53.
fn wide_values(col: &dyn Array) -> Vec<f64> {
    macro_rules! cast {
        ($t:ty) => {
            col.as_primitive::<$t>().values().iter().map(|&v| v as f64).collect()
        };
    }
    match col.data_type() {
        DataType::Boolean => col.as_boolean().iter().map(|b| b.unwrap_or(false) as u8 as f64).collect(),
        DataType::Float32 => cast!(Float32Type),
        DataType::Float64 => cast!(Float64Type),
        DataType::Int8 => cast!(Int8Type),
        DataType::Int16 => cast!(Int16Type),
        DataType::Int32 => cast!(Int32Type),
        DataType::Int64 => cast!(Int64Type),
        DataType::UInt8 => cast!(UInt8Type),
        DataType::UInt16 => cast!(UInt16Type),
        DataType::UInt32 => cast!(UInt32Type),
        DataType::UInt64 => cast!(UInt64Type),
        other => unreachable!("column type {other} was refused when the file was opened"),
    }
}

/// A time column as text: strings as they are, numbers and booleans printed, dates and
/// timestamps as their stored integers (days or time units since the epoch); `None` for other
/// types.
fn time_text(col: &dyn Array) -> Option<Vec<String>> {
    use arrow_array::types::{Date32Type, Date64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType};
    use arrow_schema::TimeUnit;
    macro_rules! raw {
        ($t:ty) => {
            col.as_primitive::<$t>().values().iter().map(|v| v.to_string()).collect()
        };
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_string()).collect(),
        DataType::LargeUtf8 => col.as_string::<i64>().iter().map(|v| v.unwrap_or_default().to_string()).collect(),
        DataType::Date32 => raw!(Date32Type),
        DataType::Date64 => raw!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => raw!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => raw!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => raw!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => raw!(TimestampNanosecondType),
        t if numeric(t) => wide_values(col).iter().map(|v| v.to_string()).collect(),
        _ => return None,
    })
}

/// A label column as u32: non-negative integers, booleans (true = 1), or floats holding them.
fn label_values(col: &dyn Array, name: &str, first_row: usize, path: &Path) -> Result<Vec<u32>> {
    wide_values(col)
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
                Ok(v as u32)
            } else {
                Err(Error::input(path, format!("row {}, label column {name:?}: {v} is not a non-negative integer", first_row + i + 1)))
            }
        })
        .collect()
}

impl RowSource for ParquetReader {
    fn path(&self) -> &Path {
        &self.path
    }

    fn feature_names(&self) -> &[String] {
        &self.features
    }

    fn has_labels(&self) -> bool {
        self.label.is_some()
    }

    fn has_times(&self) -> bool {
        self.time.is_some()
    }

    fn next_batch(&mut self, n: usize) -> Result<Option<RowBatch>> {
        let n = n.max(1);
        let batch = match self.pending.take() {
            Some(b) => b,
            None => match self.reader.next() {
                Some(b) => b.map_err(|e| Error::input(&self.path, format!("cannot read record batch: {e}")))?,
                None if self.row == 0 => return Err(Error::input(&self.path, "no data rows")),
                None => return Ok(None),
            },
        };
        let batch = if batch.num_rows() > n {
            self.pending = Some(batch.slice(n, batch.num_rows() - n));
            batch.slice(0, n)
        } else {
            batch
        };
        if batch.num_rows() == 0 {
            return self.next_batch(n);
        }
        let first = self.row;
        self.row += batch.num_rows();
        self.convert(&batch, first).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;

    use super::super::table;

    fn write(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn reads_numeric_columns_and_labels_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let n = 10;
        write(
            &path,
            vec![
                ("a", Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.5))) as ArrayRef),
                ("anomaly", Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 4 == 0))))),
                ("b", Arc::new(Int32Array::from_iter_values((0..n).map(|i| -i)))),
            ],
        );
        let ds = table::load(&path, Some("anomaly")).unwrap();
        assert_eq!(ds.feature_names.as_deref(), Some(&["a".to_string(), "b".to_string()][..]));
        assert_eq!(&ds.data()[..6], &[0.0, 0.0, 0.5, -1.0, 1.0, -2.0]);
        assert_eq!(ds.labels().unwrap(), &[1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
        // Streamed in batches of 3 across the record batch: the same rows in order.
        let mut src = table::open(&path, Some("anomaly"), false).unwrap();
        let mut rows = Vec::new();
        let mut sizes = Vec::new();
        while let Some(b) = src.next_batch(3).unwrap() {
            sizes.push(b.n_rows);
            rows.extend(b.rows);
        }
        assert_eq!(sizes, vec![3, 3, 3, 1]);
        assert_eq!(rows, ds.data());
        // Without the label column named, it is a feature like the others.
        let src = table::open(&path, None, false).unwrap();
        assert_eq!(src.feature_names(), &["a", "anomaly", "b"].map(String::from)[..]);
    }

    #[test]
    fn bad_columns_and_values_name_the_file_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text.parquet");
        write(&text, vec![("a", Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef), ("name", Arc::new(StringArray::from(vec!["x", "y"])))]);
        let e = table::load(&text, None).unwrap_err().to_string();
        assert!(e.contains("text.parquet") && e.contains("\"name\"") && e.contains("expected numbers"), "{e}");
        let e = table::load(&text, Some("label")).unwrap_err().to_string();
        assert!(e.contains("no column named \"label\""), "{e}");
        let nulls = dir.path().join("nulls.parquet");
        write(&nulls, vec![("a", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])) as ArrayRef)]);
        let e = table::load(&nulls, None).unwrap_err().to_string();
        assert!(e.contains("row 2, column \"a\": a null value"), "{e}");
        let nan = dir.path().join("nan.parquet");
        write(&nan, vec![("a", Arc::new(Float64Array::from(vec![1.0, f64::NAN])) as ArrayRef)]);
        let e = table::load(&nan, None).unwrap_err().to_string();
        assert!(e.contains("row 2, column \"a\"") && e.contains("not finite"), "{e}");
        let neg = dir.path().join("neg.parquet");
        write(&neg, vec![("a", Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef), ("y", Arc::new(Int32Array::from(vec![0, -1])))]);
        let e = table::load(&neg, Some("y")).unwrap_err().to_string();
        assert!(e.contains("row 2, label column \"y\": -1 is not a non-negative integer"), "{e}");
        std::fs::write(dir.path().join("junk.parquet"), b"not parquet").unwrap();
        let e = table::load(&dir.path().join("junk.parquet"), None).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("not a readable Parquet file"), "{e}");
    }
}
