use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, SchemaRef};

use crate::dataset::Dataset;
use crate::value::Value;

/// Accumulates validated rows of one dataset into Arrow record batches with the contract
/// schema, so staged Parquet is typed by the contract and never by inference.
pub struct TypedBatchBuilder {
    schema: SchemaRef,
    builders: Vec<Box<dyn ArrayBuilder>>,
    rows: usize,
}

impl TypedBatchBuilder {
    pub fn new(dataset: &Dataset, capacity: usize) -> Self {
        let schema = dataset.arrow_schema();
        let builders = schema
            .fields()
            .iter()
            .map(|f| new_builder(f.data_type(), capacity))
            .collect();
        Self {
            schema,
            builders,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row of values in contract order, as produced by `Dataset::parse_record`.
    pub fn push(&mut self, values: &[Value]) {
        assert_eq!(
            values.len(),
            self.builders.len(),
            "row width must match the contract"
        );
        for (builder, value) in self.builders.iter_mut().zip(values) {
            append(builder.as_mut(), value);
        }
        self.rows += 1;
    }

    /// Takes the rows so far as a batch and starts again.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}

fn new_builder(ty: &DataType, capacity: usize) -> Box<dyn ArrayBuilder> {
    match ty {
        DataType::Utf8 => Box::new(StringBuilder::with_capacity(capacity, capacity * 16)),
        DataType::Int32 => Box::new(Int32Builder::with_capacity(capacity)),
        DataType::Float64 => Box::new(Float64Builder::with_capacity(capacity)),
        DataType::Boolean => Box::new(BooleanBuilder::with_capacity(capacity)),
        DataType::Date32 => Box::new(Date32Builder::with_capacity(capacity)),
        DataType::Timestamp(_, _) => Box::new(TimestampMillisecondBuilder::with_capacity(capacity)),
        other => unreachable!("contract types never map to {other}"),
    }
}

fn downcast<T: 'static>(builder: &mut dyn ArrayBuilder) -> &mut T {
    builder
        .as_any_mut()
        .downcast_mut::<T>()
        .expect("builder type follows the schema")
}

fn append(builder: &mut dyn ArrayBuilder, value: &Value) {
    match value {
        Value::Utf8(s) => downcast::<StringBuilder>(builder).append_value(s),
        Value::Int(n) => downcast::<Int32Builder>(builder).append_value(*n),
        Value::Float(f) => downcast::<Float64Builder>(builder).append_value(*f),
        Value::Bool(b) => downcast::<BooleanBuilder>(builder).append_value(*b),
        Value::Date(d) => downcast::<Date32Builder>(builder).append_value(*d),
        Value::Timestamp(t) => downcast::<TimestampMillisecondBuilder>(builder).append_value(*t),
        Value::Null => append_null(builder),
    }
}

fn append_null(builder: &mut dyn ArrayBuilder) {
    let any = builder.as_any_mut();
    if let Some(b) = any.downcast_mut::<StringBuilder>() {
        b.append_null()
    } else if let Some(b) = any.downcast_mut::<Int32Builder>() {
        b.append_null()
    } else if let Some(b) = any.downcast_mut::<Float64Builder>() {
        b.append_null()
    } else if let Some(b) = any.downcast_mut::<BooleanBuilder>() {
        b.append_null()
    } else if let Some(b) = any.downcast_mut::<Date32Builder>() {
        b.append_null()
    } else if let Some(b) = any.downcast_mut::<TimestampMillisecondBuilder>() {
        b.append_null()
    }
}
