//! Giving macros their values over a cluster's nodes.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::SyntaxError;
use crate::parse::{Expr, Segment, Target, parse};

/// A node as macros see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub id: String,
    pub nodenum: u32,
    /// Unknown until the provider reports it.
    pub hostname: Option<String>,
    /// Address type (`access_v4`, `bind_v4`, ...) → address; filled when the node is confirmed.
    pub ipaddresses: BTreeMap<String, String>,
    pub services: Vec<String>,
}

/// The cluster a string is expanded for, and the node it is expanded on.
#[derive(Debug, Clone, Copy)]
pub struct Cluster<'a> {
    pub nodes: &'a [Node],
    pub owner: &'a str,
    /// The node the task runs on; `None` where no node is meant (cluster links).
    pub this_node: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("{}{error}", at(path))]
    Syntax { path: String, error: SyntaxError },
    /// A node lacks what a macro asks for, or an index is out of range: the task cannot run yet.
    #[error("{}incomplete cluster: {message}", at(path))]
    Incomplete { path: String, message: String },
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

enum Evaluated {
    /// The macro is about a service that is not on the cluster.
    Absent,
    One(String),
    List(Vec<String>),
}

/// Expands every macro of `text`. A string where no macro had a value is returned unchanged.
pub fn expand_str(text: &str, cluster: &Cluster<'_>) -> Result<String, ExpandError> {
    expand_at(text, cluster, "")
}

/// Expands every string inside a JSON value (keys are left alone); errors name the JSON path.
pub fn expand_value(value: &Value, cluster: &Cluster<'_>) -> Result<Value, ExpandError> {
    walk(value, cluster, "")
}

fn walk(value: &Value, cluster: &Cluster<'_>, path: &str) -> Result<Value, ExpandError> {
    Ok(match value {
        Value::String(text) => Value::String(expand_at(text, cluster, path)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| walk(item, cluster, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    Ok((key.clone(), walk(item, cluster, &path)?))
                })
                .collect::<Result<_, ExpandError>>()?,
        ),
        other => other.clone(),
    })
}

fn expand_at(text: &str, cluster: &Cluster<'_>, path: &str) -> Result<String, ExpandError> {
    if !text.contains('%') {
        return Ok(text.to_string());
    }
    let segments = parse(text).map_err(|error| ExpandError::Syntax {
        path: path.to_string(),
        error,
    })?;
    let mut out = String::new();
    let mut any_value = false;
    for segment in segments {
        match segment {
            Segment::Text(literal) => out.push_str(&literal),
            Segment::Macro(expr) => {
                let value = eval(&expr, cluster).map_err(|message| ExpandError::Incomplete {
                    path: path.to_string(),
                    message,
                })?;
                match value {
                    Evaluated::Absent => {}
                    Evaluated::One(one) => {
                        any_value = true;
                        out.push_str(&one);
                    }
                    Evaluated::List(list) => {
                        any_value = true;
                        out.push_str(&list.join(","));
                    }
                }
            }
        }
    }
    Ok(if any_value { out } else { text.to_string() })
}

/// The nodes carrying `service`, by node number.
fn carrying<'a>(cluster: &Cluster<'a>, service: &str) -> Vec<&'a Node> {
    let mut nodes: Vec<&Node> = cluster
        .nodes
        .iter()
        .filter(|n| n.services.iter().any(|s| s == service))
        .collect();
    nodes.sort_by_key(|n| n.nodenum);
    nodes
}

fn this_node<'a>(cluster: &Cluster<'a>) -> Result<&'a Node, String> {
    let id = cluster
        .this_node
        .ok_or_else(|| "'self' macros need a node, and none is meant here".to_string())?;
    cluster
        .nodes
        .iter()
        .find(|n| n.id == id)
        .ok_or_else(|| format!("node '{id}' is not in the cluster"))
}

fn eval(expr: &Expr, cluster: &Cluster<'_>) -> Result<Evaluated, String> {
    let hostname = |node: &Node| {
        node.hostname
            .clone()
            .ok_or_else(|| format!("node {} has no hostname yet", node.nodenum))
    };
    let address = |node: &Node, kind: &str| {
        node.ipaddresses
            .get(kind)
            .cloned()
            .ok_or_else(|| format!("node {} has no {kind} address yet", node.nodenum))
    };
    Ok(match expr {
        Expr::Owner => Evaluated::One(cluster.owner.to_string()),
        Expr::Num(service) => Evaluated::One(carrying(cluster, service).len().to_string()),
        Expr::Instance(service) => {
            let me = this_node(cluster)?;
            let position = carrying(cluster, service)
                .iter()
                .position(|n| n.id == me.id)
                .ok_or_else(|| format!("node {} does not carry {service}", me.nodenum))?;
            Evaluated::One((position + 1).to_string())
        }
        Expr::Host(Target::Own) => Evaluated::One(hostname(this_node(cluster)?)?),
        Expr::Ip {
            kind,
            target: Target::Own,
        } => Evaluated::One(address(this_node(cluster)?, kind)?),
        Expr::Host(Target::Service { name, index }) => per_node(cluster, name, *index, hostname)?,
        Expr::Ip {
            kind,
            target: Target::Service { name, index },
        } => per_node(cluster, name, *index, |n| address(n, kind))?,
        Expr::Join(inner, separator) => match eval(inner, cluster)? {
            Evaluated::List(list) => Evaluated::One(list.join(separator)),
            other => other,
        },
        Expr::Map(inner, format) => match eval(inner, cluster)? {
            Evaluated::List(list) => {
                Evaluated::List(list.iter().map(|item| apply(format, item)).collect())
            }
            Evaluated::One(one) => Evaluated::One(apply(format, &one)),
            Evaluated::Absent => Evaluated::Absent,
        },
    })
}

fn per_node(
    cluster: &Cluster<'_>,
    service: &str,
    index: Option<usize>,
    value: impl Fn(&Node) -> Result<String, String>,
) -> Result<Evaluated, String> {
    let nodes = carrying(cluster, service);
    if nodes.is_empty() {
        return Ok(Evaluated::Absent);
    }
    match index {
        Some(i) => {
            let node = nodes.get(i).ok_or_else(|| {
                format!(
                    "index {i} is out of range: {service} is on {} nodes",
                    nodes.len()
                )
            })?;
            Ok(Evaluated::One(value(node)?))
        }
        None => Ok(Evaluated::List(
            nodes.into_iter().map(value).collect::<Result<_, _>>()?,
        )),
    }
}

/// `$` is the element, `$$` a dollar sign.
fn apply(format: &str, element: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if chars.peek() == Some(&'$') {
                chars.next();
                out.push('$');
            } else {
                out.push_str(element);
            }
        } else {
            out.push(c);
        }
    }
    out
}
