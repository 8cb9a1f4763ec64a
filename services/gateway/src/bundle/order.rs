//! The write order within one collection: resources that name others of the same bundle
//! (a parent actor, the previous call of a series, the statement replied to) come after them.

use std::collections::HashMap;

use chancery_runtime::errors::Violations;

/// A reference from a resource to another of the same collection: the field it is in, such as
/// `bundle.actors[3].parent`, and the name it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    pub(crate) field: String,
    pub(crate) to: String,
}

impl Edge {
    pub(crate) fn new(field: String, to: &str) -> Self {
        Self {
            field,
            to: to.to_owned(),
        }
    }
}

/// Sorts the resources `names` (indexes into the collection) into levels: level 0 names no
/// other resource of the collection, level `n` only resources of lower levels, so each level
/// can be written concurrently once the levels before it are. References to names outside the
/// collection are left to the owning service to check. A cycle is a violation on the field of
/// one of its references, naming the whole cycle.
pub(crate) fn levels(
    names: &[&str],
    edges_of: impl Fn(usize) -> Vec<Edge>,
    violations: &mut Violations,
) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // For each resource, the in-collection resources it names, with the field naming them.
    let depends: Vec<Vec<(usize, String)>> = (0..names.len())
        .map(|i| {
            edges_of(i)
                .into_iter()
                .filter_map(|edge| index.get(edge.to.as_str()).map(|&j| (j, edge.field)))
                .collect()
        })
        .collect();
    // Kahn's algorithm, one frontier at a time.
    let mut waiting: Vec<usize> = depends.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (i, deps) in depends.iter().enumerate() {
        for (j, _) in deps {
            dependents[*j].push(i);
        }
    }
    let mut level: Vec<Option<usize>> = vec![None; names.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    let mut frontier: Vec<usize> = (0..names.len()).filter(|&i| waiting[i] == 0).collect();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for &i in &frontier {
            level[i] = Some(levels.len());
            for &k in &dependents[i] {
                waiting[k] -= 1;
                if waiting[k] == 0 {
                    next.push(k);
                }
            }
        }
        next.sort_unstable();
        levels.push(std::mem::replace(&mut frontier, next));
    }
    report_cycles(names, &depends, &level, violations);
    levels
}

/// Reports each cycle among the resources left without a level (`level[i]` is `None`: they
/// are in a cycle or depend on one) once, on the field of the reference that starts it.
fn report_cycles(
    names: &[&str],
    depends: &[Vec<(usize, String)>],
    level: &[Option<usize>],
    violations: &mut Violations,
) {
    let mut reported = vec![false; names.len()];
    for start in 0..names.len() {
        if level[start].is_some() || reported[start] {
            continue;
        }
        // Follow unresolved references from `start` until a resource repeats.
        let mut path = vec![start];
        let mut current = start;
        let cycle_start = loop {
            let Some((next, _)) = depends[current].iter().find(|(j, _)| level[*j].is_none()) else {
                break None;
            };
            if let Some(at) = path.iter().position(|p| p == next) {
                break Some(at);
            }
            path.push(*next);
            current = *next;
        };
        let Some(at) = cycle_start else { continue };
        let cycle = &path[at..];
        if cycle.iter().any(|&i| reported[i]) {
            continue;
        }
        for &i in cycle {
            reported[i] = true;
        }
        let first = cycle[0];
        let second = cycle.get(1).copied().unwrap_or(first);
        let field = depends[first]
            .iter()
            .find(|(j, _)| *j == second)
            .map(|(_, field)| field.clone())
            .unwrap_or_default();
        let mut loop_names: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
        loop_names.push(names[first]);
        violations.add(
            field,
            format!(
                "forms a cycle, so no order can write them: {}",
                loop_names.join(" → ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_outside_names_are_ignored() {
        let names = ["actors/ministry", "actors/state", "actors/person"];
        let parent = ["actors/state", "", "actors/elsewhere"];
        let mut violations = Violations::default();
        let levels = levels(
            &names,
            |i| vec![Edge::new(format!("bundle.actors[{i}].parent"), parent[i])],
            &mut violations,
        );
        assert!(violations.is_empty());
        assert_eq!(levels, vec![vec![1, 2], vec![0]]);
    }

    #[test]
    fn a_cycle_is_reported_once_on_one_of_its_fields() {
        let names = ["a", "b", "c", "d"];
        let next = ["b", "c", "a", "a"];
        let mut violations = Violations::default();
        let levels = levels(
            &names,
            |i| vec![Edge::new(format!("x[{i}].next"), next[i])],
            &mut violations,
        );
        assert!(levels.is_empty());
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.field.clone(), v.description.clone()))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "x[0].next");
        assert!(found[0].1.contains("a → b → c → a"), "{}", found[0].1);
    }

    #[test]
    fn a_resource_naming_itself_is_a_cycle() {
        let mut violations = Violations::default();
        levels(
            &["a"],
            |_| vec![Edge::new("x[0].parent".into(), "a")],
            &mut violations,
        );
        assert_eq!(violations.iter().next().unwrap().field, "x[0].parent");
    }
}
