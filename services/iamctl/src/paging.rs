//! Pagination as the AWS CLI does it: every page is fetched and merged, unless
//! `--max-items` bounds the total; the output then carries `NextToken` when more remain,
//! and `--starting-token` continues from it.

use clap::Args;
use serde_json::{Map, Value};

use crate::client::CliError;

/// The pagination flags of every list command.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct PageArgs {
    /// The most items to return in all; the output has `NextToken` when more remain.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub(crate) max_items: Option<i32>,
    /// Where to start: the `NextToken` of an earlier output.
    #[arg(long)]
    pub(crate) starting_token: Option<String>,
    /// Items asked for per call (1-1000); the server's default when not given.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub(crate) page_size: Option<i32>,
}

/// The state of a walk over the pages of one list.
#[derive(Debug)]
pub(crate) struct Pager {
    args: PageArgs,
    merged: Map<String, Value>,
    started: bool,
    truncated: bool,
    marker: String,
    collected: i64,
}

impl Pager {
    pub(crate) fn new(args: &PageArgs) -> Self {
        Pager {
            args: args.clone(),
            merged: Map::new(),
            started: false,
            truncated: false,
            marker: String::new(),
            collected: 0,
        }
    }

    /// The marker and `max_items` of the next call, or `None` when the walk is over.
    pub(crate) fn next_call(&mut self) -> Option<(String, i32)> {
        if !self.started {
            self.started = true;
            let first = self.args.starting_token.clone().unwrap_or_default();
            return self.size().map(|size| (first, size));
        }
        if !self.truncated {
            return None;
        }
        self.size().map(|size| (self.marker.clone(), size))
    }

    /// Items to ask for: the page size, bounded by what `--max-items` still allows; 0
    /// leaves it to the server. `None` when `--max-items` is reached.
    fn size(&self) -> Option<i32> {
        let page = self.args.page_size.unwrap_or(0);
        let Some(max) = self.args.max_items else {
            return Some(page);
        };
        let remaining = i64::from(max) - self.collected;
        if remaining <= 0 {
            return None;
        }
        let remaining = i32::try_from(remaining.min(1000)).unwrap_or(1000);
        Some(if page > 0 {
            page.min(remaining)
        } else {
            remaining
        })
    }

    /// Adds one rendered page: its lists are appended to those of earlier pages, its other
    /// fields kept from the first page.
    pub(crate) fn push(&mut self, page: Value) -> Result<(), CliError> {
        let Value::Object(mut page) = page else {
            return Err(CliError::Internal("a list page is not an object".into()));
        };
        self.truncated = page.remove("IsTruncated") == Some(Value::Bool(true));
        self.marker = match page.remove("Marker") {
            Some(Value::String(m)) => m,
            _ => String::new(),
        };
        // A truncated page without a marker cannot be continued.
        self.truncated &= !self.marker.is_empty();
        for (key, value) in page {
            match (self.merged.get_mut(&key), value) {
                (Some(Value::Array(items)), Value::Array(more)) => {
                    self.collected += more.len() as i64;
                    items.extend(more);
                }
                (None, value) => {
                    if let Value::Array(items) = &value {
                        self.collected += items.len() as i64;
                    }
                    self.merged.insert(key, value);
                }
                (Some(_), _) => {}
            }
        }
        Ok(())
    }

    /// The merged pages, with `NextToken` when the walk stopped before the end.
    pub(crate) fn finish(mut self) -> Value {
        if self.truncated {
            self.merged
                .insert("NextToken".into(), Value::String(self.marker));
        }
        Value::Object(self.merged)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(users: &[&str], marker: Option<&str>) -> Value {
        json!({
            "Users": users,
            "IsTruncated": marker.is_some(),
            "Marker": marker.unwrap_or_default(),
        })
    }

    #[test]
    fn follows_every_page_without_max_items() {
        let mut pager = Pager::new(&PageArgs::default());
        assert_eq!(pager.next_call(), Some((String::new(), 0)));
        pager.push(page(&["a", "b"], Some("m1"))).unwrap();
        assert_eq!(pager.next_call(), Some(("m1".to_owned(), 0)));
        pager.push(page(&["c"], None)).unwrap();
        assert_eq!(pager.next_call(), None);
        assert_eq!(pager.finish(), json!({"Users": ["a", "b", "c"]}));
    }

    #[test]
    fn max_items_bounds_the_total_and_leaves_a_next_token() {
        let args = PageArgs {
            max_items: Some(3),
            starting_token: Some("start".into()),
            page_size: None,
        };
        let mut pager = Pager::new(&args);
        assert_eq!(pager.next_call(), Some(("start".to_owned(), 3)));
        // The server may answer fewer items than asked while more remain.
        pager.push(page(&["a", "b"], Some("m1"))).unwrap();
        assert_eq!(pager.next_call(), Some(("m1".to_owned(), 1)));
        pager.push(page(&["c"], Some("m2"))).unwrap();
        assert_eq!(pager.next_call(), None);
        assert_eq!(
            pager.finish(),
            json!({"Users": ["a", "b", "c"], "NextToken": "m2"})
        );
    }

    #[test]
    fn page_size_is_bounded_by_what_remains() {
        let args = PageArgs {
            max_items: Some(5),
            starting_token: None,
            page_size: Some(2),
        };
        let mut pager = Pager::new(&args);
        assert_eq!(pager.next_call(), Some((String::new(), 2)));
        pager.push(page(&["a", "b", "c", "d"], Some("m"))).unwrap();
        assert_eq!(pager.next_call(), Some(("m".to_owned(), 1)));
    }
}
