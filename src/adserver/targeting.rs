//! Compiled targeting: per dimension value, the bitset of line items that accept it.
//!
//! A line item's targeting is a conjunction of include/exclude rules over request
//! dimensions. Compiling turns it around: for each targeted dimension and each of its values,
//! one bitset over line items says who accepts that value (items with no rule on the dimension
//! accept every value). Matching a request is then one AND of a few machine words per
//! targeted dimension, whatever the number of rules, and no strings are compared at serve time.

use crate::traffic::Dimensions;

/// One targeting rule: the request's value of `dim` must (include) or must not (exclude) be
/// one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub dim: usize,
    pub include: bool,
    pub values: Vec<u16>,
}

impl Rule {
    pub fn accepts(&self, value: u16) -> bool {
        self.values.contains(&value) == self.include
    }
}

/// A bitset over line items, `words` 64-bit words long.
pub fn bitset_words(n: usize) -> usize {
    n.div_ceil(64).max(1)
}

struct DimTable {
    dim: usize,
    /// `allowed[value * words .. (value + 1) * words]` is the set accepting `value`.
    allowed: Vec<u64>,
}

/// Targeting of all line items, compiled.
pub struct Targeting {
    words: usize,
    tables: Vec<DimTable>,
}

impl Targeting {
    /// Compiles the rules of each line item (`rules[i]` for line item `i`).
    pub fn compile(rules: &[Vec<Rule>], dims: &Dimensions) -> Targeting {
        let words = bitset_words(rules.len());
        let mut tables = Vec::new();
        for (dim, dimension) in dims.list.iter().enumerate() {
            if !rules
                .iter()
                .any(|item| item.iter().any(|rule| rule.dim == dim))
            {
                continue;
            }
            let mut allowed = vec![0u64; dimension.values.len() * words];
            for value in 0..dimension.values.len() {
                for (item, item_rules) in rules.iter().enumerate() {
                    let accepts = item_rules
                        .iter()
                        .filter(|rule| rule.dim == dim)
                        .all(|rule| rule.accepts(value as u16));
                    if accepts {
                        allowed[value * words + item / 64] |= 1 << (item % 64);
                    }
                }
            }
            tables.push(DimTable { dim, allowed });
        }
        Targeting { words, tables }
    }

    pub fn words(&self) -> usize {
        self.words
    }

    /// ANDs into `set` the line items whose targeting accepts the request `values`.
    #[inline]
    pub fn restrict(&self, values: &[u16], set: &mut [u64]) {
        for table in &self.tables {
            let base = usize::from(values[table.dim]) * self.words;
            let allowed = &table.allowed[base..base + self.words];
            for (word, mask) in set.iter_mut().zip(allowed) {
                *word &= mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Dimension;

    #[test]
    fn compiled_sets_match_rule_by_rule_evaluation() {
        let dims = Dimensions::new(
            vec![
                Dimension {
                    name: "country".into(),
                    values: vec!["US".into(), "GB".into(), "JP".into()],
                },
                Dimension {
                    name: "device".into(),
                    values: vec!["tv".into(), "mobile".into()],
                },
            ],
            vec!["drama".into(), "kids".into()],
            vec!["PG".into()],
            vec!["t1".into()],
        );
        let rules = vec![
            vec![],
            vec![Rule {
                dim: 0,
                include: true,
                values: vec![0, 1],
            }],
            vec![
                Rule {
                    dim: 0,
                    include: false,
                    values: vec![1],
                },
                Rule {
                    dim: dims.genre(),
                    include: false,
                    values: vec![1],
                },
            ],
            vec![Rule {
                dim: 1,
                include: true,
                values: vec![0],
            }],
        ];
        let targeting = Targeting::compile(&rules, &dims);
        for country in 0..3u16 {
            for device in 0..2u16 {
                for genre in 0..2u16 {
                    let mut values = [0u16; crate::traffic::MAX_DIMENSIONS];
                    values[0] = country;
                    values[1] = device;
                    values[dims.genre()] = genre;
                    let mut set = vec![u64::MAX; targeting.words()];
                    targeting.restrict(&values, &mut set);
                    for (item, item_rules) in rules.iter().enumerate() {
                        let expected = item_rules.iter().all(|r| r.accepts(values[r.dim]));
                        assert_eq!(
                            set[0] >> item & 1 == 1,
                            expected,
                            "item {item} at {values:?}"
                        );
                    }
                }
            }
        }
    }
}
