//! Which subscribers can share one execution of their subscription.
//!
//! Two subscribers of one tenant and role with the same query and variables
//! receive the same bytes, so the subscription is executed once for all of
//! them. Only the cursor differs: a subscription whose `after` is a
//! variable shares the live part and catches up on its own. Anything less
//! plain (an inline cursor, fragments at the root, directives) runs on its
//! own, which is always correct, only dearer.

use async_graphql::Name;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql_value::Value as GqlValue;
use serde_json::Value;

use super::protocol::SubscribePayload;
use crate::domain::ids::TenantId;
use crate::domain::user::Role;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub tenant: TenantId,
    pub role: Role,
    pub query: String,
    pub operation_name: Option<String>,
    /// The variables without the cursor, serialised.
    pub variables: String,
}

#[derive(Debug, PartialEq)]
pub enum Plan {
    /// A query or mutation: executed once, answered with one `next`.
    Once,
    /// Executed for this subscriber alone.
    Private,
    Shared {
        key: FeedKey,
        /// The variables the shared execution runs with: the cursor removed.
        variables: Value,
        /// This subscriber's cursor, if it gave one.
        after: Option<String>,
    },
}

pub fn plan(payload: &SubscribePayload, tenant: TenantId, role: Role) -> Plan {
    let Ok(doc) = async_graphql::parser::parse_query(&payload.query) else {
        // Executing it reports the syntax error.
        return Plan::Private;
    };
    let op = match (&doc.operations, payload.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return Plan::Private,
        },
        (DocumentOperations::Multiple(_), None) => return Plan::Private,
    };
    let op = &op.node;
    if op.ty != OperationType::Subscription {
        return Plan::Once;
    }
    let mut variables = match &payload.variables {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Plan::Private,
    };
    let [root] = op.selection_set.node.items.as_slice() else {
        return Plan::Private;
    };
    let Selection::Field(field) = &root.node else {
        return Plan::Private;
    };
    if !field.node.directives.is_empty() || !op.directives.is_empty() {
        return Plan::Private;
    }
    let after = field
        .node
        .arguments
        .iter()
        .find(|(name, _)| name.node == "after")
        .map(|(_, v)| &v.node);
    let after = match after {
        None | Some(GqlValue::Null) => None,
        Some(GqlValue::Variable(var)) => {
            let defined = op
                .variable_definitions
                .iter()
                .find(|d| d.node.name.node == *var);
            // A default cursor, or the cursor used elsewhere too, is left to a private run.
            if defined.is_none_or(|d| d.node.default_value.is_some())
                || references(&doc, &op.selection_set.node, var) != 1
            {
                return Plan::Private;
            }
            match variables.remove(var.as_str()) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(_) => return Plan::Private,
            }
        }
        Some(_) => return Plan::Private,
    };
    let variables = Value::Object(variables);
    Plan::Shared {
        key: FeedKey {
            tenant,
            role,
            query: payload.query.clone(),
            operation_name: payload.operation_name.clone(),
            variables: variables.to_string(),
        },
        variables,
        after,
    }
}

/// How many times `$var` is used in a selection set, fragments included.
fn references(doc: &ExecutableDocument, set: &SelectionSet, var: &Name) -> usize {
    fn in_value(v: &GqlValue, var: &Name) -> usize {
        match v {
            GqlValue::Variable(n) => usize::from(n == var),
            GqlValue::List(items) => items.iter().map(|i| in_value(i, var)).sum(),
            GqlValue::Object(fields) => fields.values().map(|i| in_value(i, var)).sum(),
            _ => 0,
        }
    }
    fn in_directives(
        ds: &[async_graphql::Positioned<async_graphql::parser::types::Directive>],
        var: &Name,
    ) -> usize {
        ds.iter()
            .flat_map(|d| d.node.arguments.iter())
            .map(|(_, v)| in_value(&v.node, var))
            .sum()
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                f.node
                    .arguments
                    .iter()
                    .map(|(_, v)| in_value(&v.node, var))
                    .sum::<usize>()
                    + in_directives(&f.node.directives, var)
                    + references(doc, &f.node.selection_set.node, var)
            }
            Selection::InlineFragment(f) => {
                in_directives(&f.node.directives, var)
                    + references(doc, &f.node.selection_set.node, var)
            }
            Selection::FragmentSpread(s) => {
                in_directives(&s.node.directives, var)
                    + doc
                        .fragments
                        .get(&s.node.fragment_name.node)
                        .map_or(0, |f| references(doc, &f.node.selection_set.node, var))
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(query: &str, variables: Value) -> SubscribePayload {
        SubscribePayload {
            query: query.into(),
            operation_name: None,
            variables: Some(variables),
        }
    }

    fn plan_of(query: &str, variables: Value) -> Plan {
        plan(&payload(query, variables), TenantId::new(), Role::Agent)
    }

    const Q: &str =
        "subscription($c: ID, $a: String) { messageAdded(chatId: $c, after: $a) { cursor } }";

    #[test]
    fn the_cursor_is_taken_out_of_what_is_shared() {
        let a = plan_of(Q, json!({ "c": "chat:1", "a": "5" }));
        let b = plan_of(Q, json!({ "c": "chat:1", "a": "9" }));
        let (
            Plan::Shared {
                key: ka,
                after: aa,
                variables,
                ..
            },
            Plan::Shared {
                key: kb, after: ab, ..
            },
        ) = (a, b)
        else {
            panic!("both shared");
        };
        assert_eq!(ka.variables, kb.variables, "same feed whatever the cursor");
        assert_eq!(variables, json!({ "c": "chat:1" }));
        assert_eq!(aa.as_deref(), Some("5"));
        assert_eq!(ab.as_deref(), Some("9"));
        let other_chat = plan_of(Q, json!({ "c": "chat:2" }));
        let Plan::Shared { key, after, .. } = other_chat else {
            panic!()
        };
        assert_ne!(key.variables, ka.variables);
        assert_eq!(after, None);
    }

    #[test]
    fn anything_unusual_runs_alone() {
        assert_eq!(
            plan_of(
                "subscription { messageAdded(after: \"5\") { cursor } }",
                json!({})
            ),
            Plan::Private
        );
        assert_eq!(
            plan_of(
                "subscription($a: String = \"1\") { messageAdded(after: $a) { cursor } }",
                json!({})
            ),
            Plan::Private
        );
        assert_eq!(
            plan_of(
                "subscription($a: String) { messageAdded(after: $a) { cursor message { chat { messages(before: $a) { nodes { id } } } } } }",
                json!({ "a": "1" })
            ),
            Plan::Private
        );
        assert_eq!(
            plan_of(
                "subscription { ...F } fragment F on Subscription { chatUpdated { cursor } }",
                json!({})
            ),
            Plan::Private
        );
        assert_eq!(plan_of("subscription {", json!({})), Plan::Private);
        assert_eq!(plan_of("{ me { id } }", json!({})), Plan::Once);
    }
}
