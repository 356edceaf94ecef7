//! MLflow's JSON inputs decoded straight into numbers, without a `serde_json::Value` tree: about
//! eight bytes a value instead of some thirty times the body's size.
//!
//! The shapes: `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`,
//! `{"dataframe_records": [{...}, ...]}`, and `{"instances" | "inputs": ...}` holding rows
//! (arrays), records (objects) or columns (`{"name": [...], ...}`). A cell is a JSON number or a
//! string that reads as one (CSV cells are text); anything else is kept aside, with its text, for
//! the error that names its row and column once the columns are known. An object that names a
//! key twice, or a body with two inputs, is refused. MLflow's `params` object is kept as sent.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Visitor methods refusing every JSON scalar with one message: where an array or an object is
/// required, a number, string, boolean or null is a shape error.
macro_rules! refuse_scalars {
    ($message:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            let message = $message(&self);
            Err(self.out.refuse(message))
        }
    };
}

/// `DeserializeSeed` for a visitor that is its own seed: `Type => deserialize_method`.
macro_rules! seeds_itself {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            impl<'de> DeserializeSeed<'de> for $name<'_> {
                type Value = <Self as Visitor<'de>>::Value;

                fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                    d.$method(self)
                }
            }
        )*
    };
}

seeds_itself!(Top => deserialize_any, Split => deserialize_map, Rows => deserialize_any, Row => deserialize_any);

/// The keys of one JSON object so far, to refuse one named twice. A set: a body of 10 MiB can
/// hold an object of 300,000 keys, and comparing each with all before it took minutes.
#[derive(Default)]
struct Keys(HashSet<String>);

impl Keys {
    /// Note `key`: an error if the object named it before.
    fn note<E: de::Error>(&mut self, key: &str) -> Result<(), E> {
        if self.0.insert(key.to_owned()) {
            Ok(())
        } else {
            Err(de::Error::custom(format!("key {key:?} appears twice")))
        }
    }
}

/// The input keys of MLflow's JSON format.
pub const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// A cell that is not a usable number: its JSON text, and whether it read as a number at all.
#[derive(Debug, Clone, PartialEq)]
pub struct BadCell {
    pub shown: String,
    pub not_finite: bool,
}

/// Rows of numbers, with column names when the request gave them.
#[derive(Debug, Default)]
pub struct Decoded {
    pub columns: Option<Vec<String>>,
    /// Each column's position, for records after the first: set with them.
    column_index: HashMap<String, usize>,
    /// All rows' values, one row after another; a bad cell holds NaN.
    values: Vec<f64>,
    /// Where each row ends in `values`.
    ends: Vec<usize>,
    /// The bad cells by (row, position in row).
    bad: HashMap<(usize, usize), BadCell>,
    /// Why a shape check refused the body, when one did (the error serde carries then is a
    /// placeholder).
    shape: Option<String>,
    /// MLflow's `params` object, as sent (checked by the caller).
    pub params: Option<serde_json::Value>,
}

impl Decoded {
    pub fn n_rows(&self) -> usize {
        self.ends.len()
    }

    /// The values of row `r`.
    pub fn row(&self, r: usize) -> &[f64] {
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        &self.values[start..self.ends[r]]
    }

    /// What was wrong with cell `c` of row `r`, if it held no usable number.
    pub fn bad(&self, r: usize, c: usize) -> Option<&BadCell> {
        self.bad.get(&(r, c))
    }

    /// Add a cell given as text (a CSV field), read as JSON strings are.
    pub fn push_text(&mut self, text: &str) {
        let cell = match dataset::parse_cell(text.as_bytes()) {
            Ok(x) => Cell::Number(x),
            Err(dataset::CellProblem::NonFinite(shown)) => Cell::Bad(BadCell {
                shown,
                not_finite: true,
            }),
            Err(_) => Cell::bad(serde_json::to_string(text).unwrap_or_else(|_| text.to_owned())),
        };
        self.push_cell(cell);
    }

    /// Add cells that are all numbers.
    pub fn push_numbers(&mut self, values: &[f64]) {
        self.values.extend_from_slice(values);
    }

    /// Close the row being filled.
    pub fn end_row(&mut self) {
        self.ends.push(self.values.len());
    }

    /// Refuse the body for its shape: the message is kept here, and the error handed to serde
    /// only stops the decoding.
    fn refuse<E: de::Error>(&mut self, message: impl Into<String>) -> E {
        self.shape = Some(message.into());
        E::custom("the body's shape is refused")
    }

    fn push_cell(&mut self, cell: Cell) {
        let (r, c) = (
            self.ends.len(),
            self.values.len() - self.ends.last().copied().unwrap_or(0),
        );
        match cell {
            Cell::Number(v) => self.values.push(v),
            Cell::Bad(bad) => {
                self.bad.insert((r, c), bad);
                self.values.push(f64::NAN);
            }
        }
    }
}

/// Decode a JSON body.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Problem> {
    decode_once(bytes).map_err(|problem| match problem {
        // A broken body is called malformed whatever its shape: a shape error met before the
        // break is checked against the syntax of the whole body (only a refused body pays
        // for the second pass; skipping allocates nothing).
        Problem::Schema(_) => match serde_json::from_slice::<IgnoredAny>(bytes) {
            Err(e) => Problem::Malformed(format!("malformed JSON: {e}")),
            Ok(_) => problem,
        },
        malformed @ Problem::Malformed(_) => malformed,
    })
}

/// One pass of the decoder.
fn decode_once(bytes: &[u8]) -> Result<Decoded, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Room for as many values and rows as the body could hold (a value takes two bytes at
    // least, a row four), reserved once: no growing copies, and for a large body one block that
    // the allocator maps on its own and hands back to the system when the request is done.
    let mut out = Decoded {
        values: Vec::with_capacity(bytes.len() / 2 + 16),
        ends: Vec::with_capacity(bytes.len() / 4 + 16),
        ..Decoded::default()
    };
    let seen = Top { out: &mut out }
        .deserialize(&mut de)
        .and_then(|seen| de.end().map(|()| seen));
    let seen = match seen {
        Ok(seen) => seen,
        // A shape check that refused the body left its message; serde's own text (which
        // appends the position) is read only for syntax errors.
        Err(e) => {
            return Err(match out.shape.take() {
                Some(message) => Problem::Schema(message),
                None => Problem::Malformed(format!("malformed JSON: {e}")),
            });
        }
    };
    match seen {
        0 => Err(Problem::Schema(String::from(
            "expected one of dataframe_split, dataframe_records, instances, inputs",
        ))),
        _ => Ok(out),
    }
}

/// Why a body was refused: not JSON at all, or JSON of the wrong shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Malformed(String),
    Schema(String),
}

/// The top-level object: exactly one input key, others ignored. Returns how many were seen.
struct Top<'a> {
    out: &'a mut Decoded,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a JSON object with one of dataframe_split, dataframe_records, instances, inputs",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut keys = Keys::default();
        let mut inputs: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            keys.note(&key)?;
            if INPUT_KEYS.contains(&key.as_str()) {
                if let Some(first) = inputs.first() {
                    return Err(self.out.refuse(format!(
                        "the body has {first} and {key}: send exactly one input"
                    )));
                }
                inputs.push(key.clone());
                match key.as_str() {
                    "dataframe_split" => map.next_value_seed(Split { out: self.out })?,
                    "dataframe_records" => map.next_value_seed(Rows {
                        out: self.out,
                        key: "dataframe_records",
                        columnar: false,
                    })?,
                    _ => map.next_value_seed(Rows {
                        out: self.out,
                        key: if key == "instances" {
                            "instances"
                        } else {
                            "inputs"
                        },
                        columnar: true,
                    })?,
                }
            } else if key == "params" {
                self.out.params = Some(map.next_value::<serde_json::Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(inputs.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<usize, A::Error> {
        Err(self.out.refuse(
            "expected a JSON object with one of dataframe_split, dataframe_records, instances, inputs",
        ))
    }
}

/// `{"columns": [...], "data": [[...], ...], "index": [...]}`.
struct Split<'a> {
    out: &'a mut Decoded,
}

impl<'de> Visitor<'de> for Split<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dataframe_split as an object with columns and data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = Keys::default();
        let mut data = false;
        while let Some(key) = map.next_key::<String>()? {
            keys.note(&key)?;
            match key.as_str() {
                "columns" => {
                    let columns: Vec<serde_json::Value> = map.next_value()?;
                    let names = columns
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| self.out.refuse("column names must be strings"))?;
                    self.out.columns = Some(names);
                }
                "data" => {
                    map.next_value_seed(Rows {
                        out: &mut *self.out,
                        key: "dataframe_split.data",
                        columnar: false,
                    })?;
                    data = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !data {
            return Err(self
                .out
                .refuse("dataframe_split.data must be an array of rows"));
        }
        Ok(())
    }
}

/// An array of rows (arrays) or records (objects), or, where `columnar`, an object of columns.
struct Rows<'a> {
    out: &'a mut Decoded,
    key: &'static str,
    columnar: bool,
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as an array", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (key, out) = (self.key, self.out);
        let mut i = 0;
        while seq
            .next_element_seed(Row {
                out: &mut *out,
                key,
                index: i,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.columnar {
            return Err(self.out.refuse(format!("{} must be an array", self.key)));
        }
        // Columns arrive one after another: gather them, then lay the rows out.
        let (mut keys, mut names) = (Keys::default(), Vec::new());
        let mut columns: Vec<Vec<Cell>> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            keys.note(&name)?;
            let column: Vec<Cell> = map
                .next_value::<CellList>()
                .map_err(|_: A::Error| self.out.refuse("each column must be an array"))?
                .0;
            if columns.first().is_some_and(|c| c.len() != column.len()) {
                return Err(self
                    .out
                    .refuse(format!("{}: columns have different lengths", self.key)));
            }
            names.push(name);
            columns.push(column);
        }
        let n = columns.first().map_or(0, Vec::len);
        let mut iters: Vec<_> = columns.into_iter().map(Vec::into_iter).collect();
        for _ in 0..n {
            for it in &mut iters {
                if let Some(cell) = it.next() {
                    self.out.push_cell(cell);
                }
            }
            self.out.end_row();
        }
        self.out.columns = Some(names);
        Ok(())
    }

    refuse_scalars!(|v: &Self| format!("{} must be an array", v.key));
}

/// One row: an array (cells by position) or an object (cells by the column names, which the
/// first record sets).
struct Row<'a> {
    out: &'a mut Decoded,
    key: &'static str,
    index: usize,
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row: an array of values, or an object of named values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.key == "dataframe_records" {
            return Err(self.out.refuse(format!(
                "{}[{}] must be an object like the first",
                self.key, self.index
            )));
        }
        while let Some(cell) = seq.next_element::<Cell>()? {
            self.out.push_cell(cell);
        }
        self.out.end_row();
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (key, i) = (self.key, self.index);
        let first = self.out.columns.is_none() && self.out.n_rows() == 0;
        if !first && self.out.columns.is_none() {
            return Err(self
                .out
                .refuse(format!("{key}[{i}] must be an array like the first")));
        }
        let (mut keys, mut names) = (Keys::default(), Vec::new());
        let mut cells: Vec<Option<Cell>> =
            vec![None; self.out.columns.as_ref().map_or(0, Vec::len)];
        while let Some(name) = map.next_key::<String>()? {
            keys.note(&name)?;
            let cell: Cell = map.next_value()?;
            if first {
                cells.push(Some(cell));
                names.push(name);
            } else if let Some(&c) = self.out.column_index.get(&name) {
                cells[c] = Some(cell);
            }
        }
        if first {
            self.out.column_index = names.iter().cloned().zip(0..).collect();
            self.out.columns = Some(names);
        }
        if let Some(c) = cells.iter().position(Option::is_none) {
            let columns = self.out.columns.as_deref().unwrap_or_default();
            return Err(self
                .out
                .refuse(format!("{key}[{i}] lacks column {}", columns[c])));
        }
        for cell in cells.into_iter().flatten() {
            self.out.push_cell(cell);
        }
        self.out.end_row();
        Ok(())
    }

    refuse_scalars!(|_: &Self| "each row must be an array of values");
}

/// One cell: a number, or what was there instead.
#[derive(Debug, Clone)]
enum Cell {
    Number(f64),
    Bad(BadCell),
}

impl Cell {
    fn bad(shown: String) -> Self {
        Self::Bad(BadCell {
            shown,
            not_finite: false,
        })
    }
}

impl<'de> de::Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
        Ok(Cell::Number(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
        Ok(Cell::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
        Ok(Cell::Number(v as f64))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
        let mut one = Decoded::default();
        one.push_text(v);
        Ok(match one.bad.remove(&(0, 0)) {
            Some(bad) => Cell::Bad(bad),
            None => Cell::Number(one.values[0]),
        })
    }

    fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
        Ok(Cell::bad(v.to_string()))
    }

    fn visit_unit<E>(self) -> Result<Cell, E> {
        Ok(Cell::bad(String::from("null")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Cell::bad(String::from("an array")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Cell::bad(String::from("an object")))
    }
}

/// A column's cells, for the columnar form.
struct CellList(Vec<Cell>);

impl<'de> de::Deserialize<'de> for CellList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = CellList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column as an array of values")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CellList, A::Error> {
                let mut cells = Vec::new();
                while let Some(cell) = seq.next_element::<Cell>()? {
                    cells.push(cell);
                }
                Ok(CellList(cells))
            }
        }
        d.deserialize_seq(ListVisitor)
            .map_err(|_: D::Error| de::Error::custom("each column must be an array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(d: &Decoded) -> Vec<Vec<f64>> {
        (0..d.n_rows()).map(|r| d.row(r).to_vec()).collect()
    }

    #[test]
    fn every_shape_gives_the_same_rows() {
        let want = vec![vec![1.0, 2.5], vec![3.0, -4.0]];
        for body in [
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [3, -4]]}}"#,
            r#"{"dataframe_split": {"data": [[1, "2.5"], [3, -4]], "columns": ["a", "b"]}}"#,
            r#"{"dataframe_records": [{"a": 1, "b": 2.5}, {"b": -4, "a": 3}]}"#,
            r#"{"instances": [[1, 2.5], [3, -4]]}"#,
            r#"{"inputs": {"a": [1, 3], "b": [2.5, -4]}}"#,
            r#"{"instances": [{"a": 1, "b": 2.5}, {"a": 3, "b": -4}]}"#,
        ] {
            let d = decode(body.as_bytes()).unwrap();
            assert_eq!(rows(&d), want, "{body}");
        }
    }

    /// Numbers are read correctly rounded, as Python's json and Rust's `str::parse` read them:
    /// serde_json's default parser reads these (from California's derived features, as a
    /// client serialises them) one unit in the last place off, which moved predictions.
    #[test]
    fn long_decimals_are_read_correctly_rounded() {
        let texts = [
            "1.0238095238095237",
            "0.9513618677042801",
            "1.0796019900497513",
            "1.9548387096774194",
            "1.0836363636363637",
        ];
        let body = format!(r#"{{"instances": [[{}]]}}"#, texts.join(", "));
        let d = decode(body.as_bytes()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let want: Vec<f64> = texts.iter().map(|t| t.parse().unwrap()).collect();
        assert_eq!(bits(d.row(0)), bits(&want));
    }

    #[test]
    fn bad_cells_are_kept_for_their_messages() {
        let d = decode(br#"{"instances": [[1, "x", true, null, "inf"]]}"#).unwrap();
        assert_eq!(d.bad(0, 1).unwrap().shown, "\"x\"");
        assert_eq!(d.bad(0, 2).unwrap().shown, "true");
        assert_eq!(d.bad(0, 3).unwrap().shown, "null");
        assert!(d.bad(0, 4).unwrap().not_finite);
        assert!(d.bad(0, 0).is_none());
    }

    #[test]
    fn ambiguous_and_misshapen_bodies_are_refused() {
        let schema = |body: &str| match decode(body.as_bytes()) {
            Err(Problem::Schema(m)) => m,
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(
            schema(r#"{"instances": [[1]], "inputs": [[2]]}"#),
            "the body has instances and inputs: send exactly one input"
        );
        assert_eq!(
            schema(r#"{"something": []}"#),
            "expected one of dataframe_split, dataframe_records, instances, inputs"
        );
        assert_eq!(
            schema(r#"{"dataframe_records": [{"a": 1}, {"b": 2}]}"#),
            "dataframe_records[1] lacks column a"
        );
        assert!(matches!(
            decode(br#"{"instances": [1,"#),
            Err(Problem::Malformed(_))
        ));
        let twice = decode(br#"{"dataframe_records": [{"a": 1, "a": 2}]}"#);
        assert!(
            matches!(&twice, Err(Problem::Malformed(m)) if m.contains("key \"a\" appears twice")),
            "{twice:?}"
        );
    }
}
