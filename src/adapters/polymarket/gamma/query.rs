//! The query parameters of `GET /markets` and `GET /events`, spelled as Gamma expects them.
//!
//! List-valued parameters (`id`, `slug`, `condition_ids`, `clob_token_ids`, `question_ids`,
//! `tag_id`) are sent as repeated keys (`?condition_ids=a&condition_ids=b`), not comma lists:
//! that is what the server parses. `limit` and `offset` are owned by the pager.

use serde::Deserialize;

/// `GET /markets` filters (`rs-clob-client` `MarketsRequest`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketsQuery {
    pub order: Option<String>,
    pub ascending: Option<bool>,
    pub ids: Vec<String>,
    pub slugs: Vec<String>,
    pub condition_ids: Vec<String>,
    pub clob_token_ids: Vec<String>,
    pub question_ids: Vec<String>,
    pub tag_ids: Vec<String>,
    pub active: Option<bool>,
    pub closed: Option<bool>,
    pub archived: Option<bool>,
    pub related_tags: Option<bool>,
    /// Ask for each market's `tags` (needed by tag filters in `markets` mode).
    pub include_tag: Option<bool>,
    pub liquidity_num_min: Option<f64>,
    pub liquidity_num_max: Option<f64>,
    pub volume_num_min: Option<f64>,
    pub volume_num_max: Option<f64>,
    pub start_date_min: Option<String>,
    pub start_date_max: Option<String>,
    pub end_date_min: Option<String>,
    pub end_date_max: Option<String>,
}

/// `GET /events` filters (`rs-clob-client` `EventsRequest`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsQuery {
    pub order: Option<String>,
    pub ascending: Option<bool>,
    pub ids: Vec<String>,
    pub slugs: Vec<String>,
    pub tag_ids: Vec<String>,
    pub tag_slug: Option<String>,
    pub exclude_tag_ids: Vec<String>,
    pub related_tags: Option<bool>,
    pub active: Option<bool>,
    pub closed: Option<bool>,
    pub archived: Option<bool>,
    pub featured: Option<bool>,
    pub liquidity_min: Option<f64>,
    pub liquidity_max: Option<f64>,
    pub volume_min: Option<f64>,
    pub volume_max: Option<f64>,
    pub start_date_min: Option<String>,
    pub start_date_max: Option<String>,
    pub end_date_min: Option<String>,
    pub end_date_max: Option<String>,
}

/// Query pairs in order; repeated keys for lists.
pub type Pairs = Vec<(&'static str, String)>;

fn scalar<T: ToString>(out: &mut Pairs, key: &'static str, v: &Option<T>) {
    if let Some(v) = v {
        out.push((key, v.to_string()));
    }
}

fn repeated(out: &mut Pairs, key: &'static str, vs: &[String]) {
    out.extend(vs.iter().map(|v| (key, v.trim().to_string())));
}

impl MarketsQuery {
    /// Open, tradeable-looking markets: `active=true&closed=false&archived=false`.
    pub fn open() -> Self {
        Self {
            active: Some(true),
            closed: Some(false),
            archived: Some(false),
            ..Self::default()
        }
    }

    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        scalar(&mut p, "order", &self.order);
        scalar(&mut p, "ascending", &self.ascending);
        repeated(&mut p, "id", &self.ids);
        repeated(&mut p, "slug", &self.slugs);
        repeated(&mut p, "condition_ids", &self.condition_ids);
        repeated(&mut p, "clob_token_ids", &self.clob_token_ids);
        repeated(&mut p, "question_ids", &self.question_ids);
        repeated(&mut p, "tag_id", &self.tag_ids);
        scalar(&mut p, "active", &self.active);
        scalar(&mut p, "closed", &self.closed);
        scalar(&mut p, "archived", &self.archived);
        scalar(&mut p, "related_tags", &self.related_tags);
        scalar(&mut p, "include_tag", &self.include_tag);
        scalar(&mut p, "liquidity_num_min", &self.liquidity_num_min);
        scalar(&mut p, "liquidity_num_max", &self.liquidity_num_max);
        scalar(&mut p, "volume_num_min", &self.volume_num_min);
        scalar(&mut p, "volume_num_max", &self.volume_num_max);
        scalar(&mut p, "start_date_min", &self.start_date_min);
        scalar(&mut p, "start_date_max", &self.start_date_max);
        scalar(&mut p, "end_date_min", &self.end_date_min);
        scalar(&mut p, "end_date_max", &self.end_date_max);
        p
    }
}

impl EventsQuery {
    /// Open events: `active=true&closed=false&archived=false`.
    pub fn open() -> Self {
        Self {
            active: Some(true),
            closed: Some(false),
            archived: Some(false),
            ..Self::default()
        }
    }

    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        scalar(&mut p, "order", &self.order);
        scalar(&mut p, "ascending", &self.ascending);
        repeated(&mut p, "id", &self.ids);
        repeated(&mut p, "slug", &self.slugs);
        repeated(&mut p, "tag_id", &self.tag_ids);
        scalar(&mut p, "tag_slug", &self.tag_slug);
        repeated(&mut p, "exclude_tag_id", &self.exclude_tag_ids);
        scalar(&mut p, "related_tags", &self.related_tags);
        scalar(&mut p, "active", &self.active);
        scalar(&mut p, "closed", &self.closed);
        scalar(&mut p, "archived", &self.archived);
        scalar(&mut p, "featured", &self.featured);
        scalar(&mut p, "liquidity_min", &self.liquidity_min);
        scalar(&mut p, "liquidity_max", &self.liquidity_max);
        scalar(&mut p, "volume_min", &self.volume_min);
        scalar(&mut p, "volume_max", &self.volume_max);
        scalar(&mut p, "start_date_min", &self.start_date_min);
        scalar(&mut p, "start_date_max", &self.start_date_max);
        scalar(&mut p, "end_date_min", &self.end_date_min);
        scalar(&mut p, "end_date_max", &self.end_date_max);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_repeated_keys() {
        let q = MarketsQuery {
            condition_ids: vec!["0xa".into(), "0xb".into()],
            clob_token_ids: vec!["1".into(), " 2 ".into()],
            closed: Some(false),
            ..MarketsQuery::default()
        };
        assert_eq!(
            q.pairs(),
            vec![
                ("condition_ids", "0xa".to_string()),
                ("condition_ids", "0xb".to_string()),
                ("clob_token_ids", "1".to_string()),
                ("clob_token_ids", "2".to_string()),
                ("closed", "false".to_string()),
            ]
        );
        let e = EventsQuery::open().pairs();
        assert!(e.contains(&("active", "true".to_string())));
        assert!(e.contains(&("closed", "false".to_string())));
    }
}
