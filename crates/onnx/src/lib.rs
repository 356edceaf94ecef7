//! `onnx`: cali-reg's linear models as ONNX files that onnxruntime runs in double precision.
//!
//! The graph takes `X`, float64 `[N, p]` (the model's features, in order), and gives `Y`,
//! float64 `[N, 1]`, as skl2onnx shapes a regressor's output:
//!
//! - the float model: `Y = MatMul(X, W) + B`, with `W` `[p, 1]` and `B` `[1]` float64;
//! - the quantised model keeps its uint8 codes: `W = (Cast(C) − Z) · S`, with `C` the uint8
//!   codes `[p, 1]` and `Z`, `S` the zero point and the scale as float64 (one per channel), so
//!   the weights are the ones `cali-reg` decodes, exactly, and the rest is as above. ONNX's
//!   `DequantizeLinear` would give float32 weights, and onnxruntime folds it back to float at
//!   load time anyway.
//!
//! Operator set 13 of the default domain, IR version 8. The model's feature names, and what the
//! caller adds (the data's SHA-256, test metrics, the version), go to `metadata_props`.
//!
//! ```
//! use linreg::LinearRegression;
//! use nalgebra::{DMatrix, DVector};
//! use prost::Message;
//! let x = DMatrix::from_row_slice(3, 1, &[0.0, 1.0, 2.0]);
//! let y = DVector::from_vec(vec![1.0, 3.0, 5.0]);
//! let model = LinearRegression::new().fit(&x, &y).unwrap();
//! let bytes = onnx::float_model(&model, onnx::Input::Features, &[]).encode_to_vec();
//! let decoded = onnx::proto::ModelProto::decode(bytes.as_slice()).unwrap();
//! assert_eq!(decoded.graph.unwrap().node.len(), 2);
//! ```

pub mod proto;

use linreg::{Model, QuantizedModel};
use proto::{
    ATTRIBUTE_INT, AttributeProto, BOOL, DOUBLE, Dimension, DimensionValue, GraphProto, INT64,
    ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, UINT8, ValueInfoProto,
};

/// The IR version written (ONNX 1.10 and later read it).
pub const IR_VERSION: i64 = 8;
/// The default domain's operator set used.
pub const OPSET: i64 = 13;
/// The graph's input: the features, float64 `[N, p]`.
pub const INPUT: &str = "X";
/// The graph's output: the predictions, float64 `[N, 1]`.
pub const OUTPUT: &str = "Y";

/// What the graph's input `X` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The model's features, in order (`metadata_props["feature_names"]`).
    Features,
    /// The raw columns the model's recipe reads (`metadata_props["raw_columns"]`), from which
    /// the graph derives the features as `cali-reg` does: a column, or a column divided by
    /// another (`Gather`, `Where`, `Div`).
    Raw,
}

/// The columns of `X` in order: the recipe's features, or the raw columns it reads.
pub fn input_columns(recipe: &recipe::Recipe, input: Input) -> Vec<String> {
    match input {
        Input::Features => recipe.feature_names(),
        Input::Raw => recipe.raw_columns(),
    }
}

/// The float model as an ONNX model; `metadata` goes to `metadata_props` after the column names.
pub fn float_model(model: &Model, input: Input, metadata: &[(String, String)]) -> ModelProto {
    let p = model.coefficients().len();
    let weights = doubles("W", vec![dim(p), 1], model.coefficients());
    let recipe = model.recipe();
    linear(
        recipe,
        input,
        (Vec::new(), vec![weights]),
        model.intercept(),
        metadata,
    )
}

/// The graph around the weights `W`: the features from `X` ([`Front`]), the nodes and
/// constants that make `W`, then `Y = MatMul(features, W) + B`.
fn linear(
    recipe: &recipe::Recipe,
    input: Input,
    (nodes, constants): (Vec<NodeProto>, Vec<TensorProto>),
    intercept: f64,
    metadata: &[(String, String)],
) -> ModelProto {
    let Front {
        features,
        mut graph,
        metadata: columns,
    } = Front::new(recipe, input);
    graph.node.extend(nodes);
    graph.node.extend([
        node("MatMul", &[features, "W"], "P"),
        node("Add", &["P", "B"], OUTPUT),
    ]);
    graph.initializer.extend(constants);
    graph.initializer.push(doubles("B", vec![1], &[intercept]));
    wrap(graph, &columns, metadata)
}

/// How the graph gets from `X` to the features: nothing to do, or the recipe's derivation.
struct Front {
    /// The name of the features tensor `[N, p]`.
    features: &'static str,
    /// Its nodes and constants, and `X`.
    graph: GraphProto,
    /// The column names, for `metadata_props`.
    metadata: Vec<(String, String)>,
}

impl Front {
    fn new(recipe: &recipe::Recipe, input: Input) -> Self {
        let names = recipe.feature_names();
        let mut metadata = vec![(String::from("feature_names"), names.join(","))];
        let empty = |columns: usize| GraphProto {
            node: Vec::new(),
            name: String::from("cali-reg"),
            initializer: Vec::new(),
            input: vec![tensor_value(INPUT, columns)],
            output: vec![tensor_value(OUTPUT, 1)],
        };
        if input == Input::Features {
            return Self {
                features: INPUT,
                graph: empty(names.len()),
                metadata,
            };
        }
        let raw = input_columns(recipe, input);
        let at = |column: &str| dim(raw.iter().position(|c| c == column).unwrap_or(0));
        let numerators: Vec<i64> = recipe.features.iter().map(|f| at(&f.column)).collect();
        let denominators: Vec<Option<i64>> = recipe
            .features
            .iter()
            .map(|f| f.divided_by.as_deref().map(at))
            .collect();
        metadata.push((String::from("raw_columns"), raw.join(",")));
        let mut graph = empty(raw.len());
        let gather = |indices: &str, output: &str| {
            let mut gather = node("Gather", &[INPUT, indices], output);
            gather.attribute.push(int_attribute("axis", 1));
            gather
        };
        graph.initializer.push(int64s("Ni", &numerators));
        if denominators.iter().all(Option::is_none) {
            graph.node.push(gather("Ni", "F"));
        } else {
            // A feature without a denominator is divided by 1, which leaves it as it is.
            graph.node.extend([
                gather("Ni", "Nx"),
                gather("Di", "Dx"),
                node("Where", &["Dm", "Dx", "One"], "Dd"),
                node("Div", &["Nx", "Dd"], "F"),
            ]);
            let indices: Vec<i64> = denominators.iter().map(|d| d.unwrap_or(0)).collect();
            graph.initializer.extend([
                int64s("Di", &indices),
                TensorProto {
                    dims: vec![dim(denominators.len())],
                    data_type: BOOL,
                    name: String::from("Dm"),
                    raw_data: denominators.iter().map(|d| u8::from(d.is_some())).collect(),
                },
                doubles("One", vec![], &[1.0]),
            ]);
        }
        Self {
            features: "F",
            graph,
            metadata,
        }
    }
}

/// The quantised model as an ONNX model whose weights are its uint8 codes, decoded in the graph.
pub fn quantized_model(
    model: &QuantizedModel,
    input: Input,
    metadata: &[(String, String)],
) -> ModelProto {
    let tensor = model.weights();
    let p = tensor.codes.len();
    // One zero point and scale per channel: a scalar for a per-tensor code, else one per weight.
    let per_weight = |value: fn(&quant::Params) -> f64| -> Vec<f64> {
        let channel = p / tensor.params.len().max(1);
        tensor
            .params
            .iter()
            .flat_map(|params| std::iter::repeat_n(value(params), channel))
            .collect()
    };
    let (zero, scale) = match tensor.params.as_slice() {
        [one] => (
            doubles("Z", vec![], &[f64::from(one.zero_point)]),
            doubles("S", vec![], &[f64::from(one.scale)]),
        ),
        _ => (
            doubles(
                "Z",
                vec![dim(p), 1],
                &per_weight(|c| f64::from(c.zero_point)),
            ),
            doubles("S", vec![dim(p), 1], &per_weight(|c| f64::from(c.scale))),
        ),
    };
    let mut cast = node("Cast", &["C"], "D");
    cast.attribute.push(int_attribute("to", i64::from(DOUBLE)));
    let nodes = vec![
        cast,
        node("Sub", &["D", "Z"], "E"),
        node("Mul", &["E", "S"], "W"),
    ];
    let codes = TensorProto {
        dims: vec![dim(p), 1],
        data_type: UINT8,
        name: String::from("C"),
        raw_data: tensor.codes.clone(),
    };
    let constants = vec![codes, zero, scale];
    linear(
        model.recipe(),
        input,
        (nodes, constants),
        model.intercept(),
        metadata,
    )
}

/// The model around a graph: versions, producer and metadata (the column names first).
fn wrap(
    graph: GraphProto,
    columns: &[(String, String)],
    metadata: &[(String, String)],
) -> ModelProto {
    let props = columns
        .iter()
        .chain(metadata)
        .map(|(key, value)| StringStringEntryProto {
            key: key.clone(),
            value: value.clone(),
        });
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: String::from("cali-reg"),
        producer_version: String::from(env!("CARGO_PKG_VERSION")),
        doc_string: String::new(),
        graph: Some(graph),
        metadata_props: props.collect(),
    }
}

fn node(op_type: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|&i| i.to_owned()).collect(),
        output: vec![output.to_owned()],
        op_type: op_type.to_owned(),
        attribute: Vec::new(),
    }
}

fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        i: value,
        r#type: ATTRIBUTE_INT,
    }
}

/// An int64 vector constant, little-endian.
fn int64s(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![dim(values.len())],
        data_type: INT64,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A float64 constant of shape `dims` (a scalar when empty), little-endian.
fn doubles(name: &str, dims: Vec<i64>, values: &[f64]) -> TensorProto {
    TensorProto {
        dims,
        data_type: DOUBLE,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A float64 tensor `[N, columns]`, N named at run time.
fn tensor_value(name: &str, columns: usize) -> ValueInfoProto {
    let dims = [
        DimensionValue::DimParam(String::from("N")),
        DimensionValue::DimValue(dim(columns)),
    ];
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: DOUBLE,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .into_iter()
                        .map(|value| Dimension { value: Some(value) })
                        .collect(),
                }),
            }),
        }),
    }
}

/// A size as ONNX's int64 (a model has at most `linreg::MAX_FEATURES` features).
fn dim(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use linreg::{LinearRegression, QuantizedModel};
    use nalgebra::{DMatrix, DVector};
    use prost::Message;

    use super::*;

    fn keys(model: &ModelProto) -> Vec<&str> {
        model
            .metadata_props
            .iter()
            .map(|p| p.key.as_str())
            .collect()
    }

    fn ops(graph: &GraphProto) -> Vec<&str> {
        graph.node.iter().map(|n| n.op_type.as_str()).collect()
    }

    fn fitted() -> Model {
        let x = DMatrix::from_row_slice(5, 2, &[0.0, 1.0, 1.0, 0.5, 2.0, 2.5, 3.0, 1.0, 4.0, 3.5]);
        let y = DVector::from_vec(vec![1.0, 2.9, 6.1, 6.8, 10.2]);
        LinearRegression::new().fit(&x, &y).unwrap()
    }

    #[test]
    fn the_float_graph_holds_the_weights_and_the_metadata() {
        let model = fitted();
        let bytes = float_model(
            &model,
            Input::Features,
            &[(String::from("data_sha256"), String::from("ab"))],
        )
        .encode_to_vec();
        let decoded = ModelProto::decode(bytes.as_slice()).unwrap();
        let graph = decoded.graph.as_ref().unwrap();
        let w = &graph.initializer[0];
        assert_eq!(
            (w.name.as_str(), w.dims.as_slice(), w.data_type),
            ("W", &[2, 1][..], DOUBLE)
        );
        let weights: Vec<f64> = w
            .raw_data
            .chunks(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(weights, model.coefficients());
        assert_eq!(keys(&decoded), ["feature_names", "data_sha256"]);
        assert_eq!(decoded.metadata_props[0].value, "x0,x1");
    }

    #[test]
    fn the_quantised_graph_keeps_the_codes_as_uint8() {
        let quantized = QuantizedModel::quantize(&fitted()).unwrap();
        let decoded = ModelProto::decode(
            quantized_model(&quantized, Input::Features, &[])
                .encode_to_vec()
                .as_slice(),
        )
        .unwrap();
        let graph = decoded.graph.unwrap();
        assert_eq!(ops(&graph), ["Cast", "Sub", "Mul", "MatMul", "Add"]);
        let codes = &graph.initializer[0];
        assert_eq!(
            (codes.data_type, codes.raw_data.as_slice()),
            (UINT8, quantized.weights().codes.as_slice())
        );
        // The graph's weights, decoded as it decodes them, are the model's.
        let (z, s) = (&graph.initializer[1], &graph.initializer[2]);
        let scalar =
            |t: &TensorProto| f64::from_le_bytes(t.raw_data.as_slice().try_into().unwrap());
        let decoded_weights: Vec<f64> = codes
            .raw_data
            .iter()
            .map(|&c| (f64::from(c) - scalar(z)) * scalar(s))
            .collect();
        assert_eq!(decoded_weights, quantized.coefficients());
    }

    #[test]
    fn a_recipe_without_ratios_only_gathers_its_columns() {
        let bytes = float_model(&fitted(), Input::Raw, &[]).encode_to_vec();
        let decoded = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(keys(&decoded), ["feature_names", "raw_columns"]);
        let graph = decoded.graph.unwrap();
        assert_eq!(ops(&graph), ["Gather", "MatMul", "Add"]);
    }
}
