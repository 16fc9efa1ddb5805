//! Search on a snapshot: validation, the lexical and semantic lists, pinning, fusion,
//! facets, paging and highlighting.

use super::compose::{compose, Lists};
use super::request::Executors;
use super::request::Facets;
use super::request::Hit;
use super::request::Mode;
use super::request::SearchRequest;
use super::request::SearchResults;
use super::snapshot::Snapshot;
use crate::bits;
use crate::embed::CachedEmbedder;
use crate::error::{Error, Result};
use crate::highlight::Highlighter;
use crate::text::{self, MatchSet, MatchSetCollector};
use crate::vector::Vid;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tantivy::query::Query;
use tantivy::DocAddress;

/// Semantic candidates that take part in fusion (and in `total`).
pub const SEMANTIC_DEPTH: usize = 100;

/// Lexical candidates that take part in fusion; lexical matches beyond it follow in BM25 order.
pub const LEXICAL_DEPTH: usize = 200;

/// Filtered sets at most this large are searched exactly instead of through the graph.
const EXACT_SEARCH_MAX: u64 = 3000;

/// Catalogs at most this large are searched exactly on the semantic side, unfiltered too. On
/// the 6,311-document dev catalog the graph (built in parallel, so a little differently on
/// every start) moved semantic nDCG@10 of one query type by up to 0.04 between runs.
const EXACT_CATALOG_MAX: u64 = 10_000;

/// Filtered sets holding less than this share of the live documents are searched exactly too:
/// the graph walk would need about `k / share` neighbours to keep `k` of them, which costs
/// more than scanning the set's vectors.
const EXACT_SEARCH_SHARE: f64 = 0.2;

/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 512;

/// A query vector: the caller's, computed here, or shared with the embedder's cache.
enum QueryVec<'v> {
    Borrowed(&'v [f32]),
    Owned(Vec<f32>),
    Cached(Arc<Vec<f32>>),
}

impl std::ops::Deref for QueryVec<'_> {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            QueryVec::Borrowed(v) => v,
            QueryVec::Owned(v) => v,
            QueryVec::Cached(v) => v,
        }
    }
}

/// What a search gathered before composing its order ([`Snapshot::gather`]).
struct Gathered {
    mode: Mode,
    /// The lexical plan and the request's filters, for highlighting the page.
    plan: text::LexicalQuery,
    filter_clauses: Vec<Box<dyn Query>>,
    browse: bool,
    lex_cands: Vec<Candidate>,
    lexical: Vec<(Vid, f32)>,
    semantic: Vec<(Vid, f32)>,
    pinned: Vec<Vid>,
    semantic_weight: f32,
    total: u64,
    facets: Facets,
}

/// The lists one search fuses, by document id ([`Snapshot::fusion_inputs`]).
#[derive(Debug, Clone)]
pub struct FusionInputs {
    pub mode: Mode,
    pub lexical: Vec<(String, f32)>,
    pub semantic: Vec<(String, f32)>,
    pub pinned: Vec<String>,
    pub semantic_weight: f32,
}

struct Candidate {
    vid: Vid,
    addr: Option<DocAddress>,
}

impl Snapshot {
    /// `query` plus `feedback_weight` times the mean of the vectors of `docs`, unit length;
    /// `None` when none of them has a vector.
    fn feedback_query(&self, query: &[f32], docs: &[Vid]) -> Option<Vec<f32>> {
        let mut sum = vec![0.0f32; query.len()];
        let mut found = 0usize;
        for v in docs.iter().filter_map(|v| self.vectors.vector(*v)) {
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            found += 1;
        }
        if found == 0 {
            return None;
        }
        let share = self.config.feedback_weight / found as f32;
        let mut out: Vec<f32> = query.iter().zip(&sum).map(|(q, s)| q + share * s).collect();
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm <= f32::EPSILON {
            return None;
        }
        out.iter_mut().for_each(|x| *x /= norm);
        Some(out)
    }

    /// Runs a search. The query vector is computed with the engine's embedder.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        self.search_embedded(req, None)
    }

    /// Runs a search through the result cache, with the query vector when the caller computed
    /// it already (the server embeds concurrent queries in batches, off the search threads);
    /// `None` embeds here if the mode needs it.
    pub fn search_embedded(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
    ) -> Result<SearchResults> {
        Ok(self
            .through_result_cache(req, || {
                self.search_vectored(req, query_vec, false, Executors::default())
            })?
            .expect("a search that may embed always answers"))
    }

    /// `search`'s answer from the result cache, or computed and kept there (a deferred search,
    /// `None`, is not kept).
    fn through_result_cache(
        &self,
        req: &SearchRequest,
        search: impl FnOnce() -> Result<Option<SearchResults>>,
    ) -> Result<Option<SearchResults>> {
        let Some(cache) = &self.cache else {
            return search();
        };
        let key = format!("{req:?}");
        if let Some(hit) = cache.lock().get(&key) {
            return Ok(Some(hit.clone()));
        }
        let res = search()?;
        if let Some(res) = &res {
            cache.lock().put(key, res.clone());
        }
        Ok(res)
    }

    /// The query embedder of this snapshot, if a model is loaded.
    pub fn query_embedder(&self) -> Option<&Arc<CachedEmbedder>> {
        self.embedder.as_ref()
    }

    /// Runs a search with a precomputed query vector (benches, eval).
    pub fn search_with_vector(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
    ) -> Result<SearchResults> {
        Ok(self
            .search_vectored(req, query_vec, false, Executors::default())?
            .expect("a search that may embed always answers"))
    }

    /// [`Snapshot::search_with_vector`] with other implementations of its sides: the
    /// differential tests and benchmarks compare the production executors with the reference
    /// ones side by side. Never through the result cache.
    #[cfg(any(test, feature = "oracle"))]
    pub fn search_with_executors(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
        exec: Executors,
    ) -> Result<SearchResults> {
        Ok(self
            .search_vectored(req, query_vec, false, exec)?
            .expect("a search that may embed always answers"))
    }

    /// Runs a search unless it needs a query vector that is not at hand: `None` then, and the
    /// caller computes the vector (in a batch, off the search threads) and searches again with
    /// it. A query the lexical side pins by an exact code needs none (the pinned document's own
    /// vector stands in), nor does a lexical or browsing request, nor a text already cached.
    pub fn search_unless_embedding(&self, req: &SearchRequest) -> Result<Option<SearchResults>> {
        self.through_result_cache(req, || {
            self.search_vectored(req, None, true, Executors::default())
        })
    }

    /// The search's stages before composition: plan, lexical list, pins, query vector,
    /// semantic list, total and facets. With `defer`, `None` where it would run the model.
    fn gather(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
        defer: bool,
        exec: Executors,
    ) -> Result<Option<Gathered>> {
        validate(req)?;
        let text = req.text.trim();
        let f = &self.fields;
        let filter_clauses = req.filters.clauses(f);
        let term_filters = req.filters.term_clauses(f);
        let numeric = req.filters.numeric();
        let mut lex = text::build_query(f, &self.vocab(), &self.config.synonyms, text);
        let browse = lex.is_browse;
        let mut mode = req.mode;
        if browse {
            mode = Mode::Lexical;
        }
        let want = req.offset + req.limit;
        let pin_codes = std::mem::take(&mut lex.pin_codes);
        // The plan as a tantivy query under the filters, for the reference executor and the
        // snippet generators (the filters add no terms of the highlighted fields).
        let filtered_text = || {
            text::with_filters(
                lex.query(),
                filter_clauses.iter().map(|q| q.box_clone()).collect(),
            )
        };

        // Lexical side: ranked candidates plus the whole match set (facets, total, vids).
        let (lex_top, lex_set) = if mode == Mode::Semantic {
            (Vec::new(), MatchSet::default())
        } else {
            self.lexical_list(
                mode,
                want,
                &lex,
                filtered_text,
                &term_filters,
                numeric.as_ref(),
                exec,
            )?
        };
        let lex_cands: Vec<Candidate> = lex_top
            .iter()
            .map(|(_, addr)| {
                let vid = self.vid_of(*addr)?;
                Ok(Candidate {
                    vid,
                    addr: Some(*addr),
                })
            })
            .collect::<Result<_>>()?;

        let pinned = self.pins(&lex_cands, &lex_top, &pin_codes, &lex.machine_codes);
        let code_pinned = !pinned.is_empty() && !pin_codes.is_empty();

        let Some(qvec) = self.query_vector(mode, code_pinned, &pinned, query_vec, defer, text)?
        else {
            return Ok(None);
        };
        if qvec.is_none() {
            mode = Mode::Lexical;
        }
        // Pseudo-relevance feedback: the embedding model reads specs and codes poorly, so in
        // hybrid mode the semantic query leans toward the first lexical hits, and the semantic
        // list brings what is like them (cross-brand equivalents, re-worded cards) instead of
        // what merely sounds like the query.
        let qvec = match qvec {
            Some(qv)
                if mode == Mode::Hybrid
                    && !code_pinned
                    && self.config.feedback_docs > 0
                    && self.config.feedback_weight > 0.0 =>
            {
                let firsts: Vec<Vid> = lex_cands
                    .iter()
                    .take(self.config.feedback_docs)
                    .map(|c| c.vid)
                    .collect();
                match self.feedback_query(&qv, &firsts) {
                    Some(v) => Some(QueryVec::Owned(v)),
                    None => Some(qv),
                }
            }
            q => q,
        };

        // Semantic side: top SEMANTIC_DEPTH among live documents passing the filters.
        let sem = match qvec.as_deref() {
            Some(qv) => {
                self.semantic_list(qv, mode, want, req, &term_filters, numeric.as_ref(), exec)?
            }
            None => Vec::new(),
        };

        // Fuse.
        let mut total = lex_set.count;
        let mut facets = Facets {
            kind: lex_set.kind.clone(),
            category: lex_set.category.clone(),
            brand: lex_set.brand.clone(),
        };
        let mut sem_weight = self.config.rrf.semantic_weight;
        match mode {
            Mode::Lexical => {}
            Mode::Semantic => {
                total = sem.len() as u64;
                facets = facets_of(self, &sem)?;
            }
            Mode::Hybrid => {
                // The embedding model is much weaker on English queries over this Russian
                // catalog (dev set: semantic nDCG@10 0.17 vs 0.42 overall), so its vote counts
                // less when the query's words are Latin.
                if latin_words_query(text) {
                    sem_weight *= self.config.rrf.latin_semantic_factor;
                }
                // A part-number query has found its target; neighbours by meaning matter less
                // than neighbours by code.
                if code_pinned {
                    sem_weight *= self.config.rrf.code_semantic_factor;
                }
                let extra: Vec<(Vid, f32)> = sem
                    .iter()
                    .filter(|(v, _)| !lex_set.contains(*v))
                    .copied()
                    .collect();
                total += extra.len() as u64;
                if !extra.is_empty() {
                    let add = facets_of(self, &extra)?;
                    facets = merge_facets(facets, add);
                }
            }
        }
        let lexical: Vec<(Vid, f32)> = lex_cands
            .iter()
            .zip(&lex_top)
            .map(|(c, (score, _))| (c.vid, *score))
            .collect();
        Ok(Some(Gathered {
            mode,
            plan: lex,
            filter_clauses,
            browse,
            lex_cands,
            lexical,
            semantic: sem,
            pinned,
            semantic_weight: sem_weight,
            total,
            facets,
        }))
    }

    /// The search, stage by stage: [`Snapshot::gather`], composition, hits. With `defer`,
    /// returns `None` where it would run the model.
    fn search_vectored(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
        defer: bool,
        exec: Executors,
    ) -> Result<Option<SearchResults>> {
        let Some(g) = self.gather(req, query_vec, defer, exec)? else {
            return Ok(None);
        };
        let ordered = compose(&Lists {
            mode: g.mode,
            lexical: &g.lexical,
            semantic: &g.semantic,
            pinned: &g.pinned,
            params: self.config.rrf,
            semantic_weight: g.semantic_weight,
        });
        // Lexical candidates come with their addresses; the others are looked up.
        let addr_by_vid: HashMap<Vid, DocAddress> = g
            .lex_cands
            .iter()
            .filter_map(|c| c.addr.map(|a| (c.vid, a)))
            .collect();
        let page = ordered
            .into_iter()
            .skip(req.offset)
            .take(req.limit)
            .map(|(vid, score)| (vid, score, addr_by_vid.get(&vid).copied()));
        let highlighted = (req.highlight && !g.browse).then(|| {
            text::with_filters(
                g.plan.query(),
                g.filter_clauses.iter().map(|q| q.box_clone()).collect(),
            )
        });
        let exact: HashSet<Vid> = g.pinned.iter().copied().collect();
        let hits = self.hits(page, highlighted.as_deref(), &exact)?;
        Ok(Some(SearchResults {
            total: g.total,
            hits,
            facets: g.facets,
            mode: g.mode,
        }))
    }

    /// The lists a search fuses, by document id: the lexical candidates that take part in
    /// fusion with their lexical scores, the semantic neighbours with their cosines, the pins
    /// in order, and the semantic list's weight for this query. For replaying and fitting the
    /// fusion offline (`stanok eval --dump-lists`); the search itself is
    /// [`Snapshot::search_with_vector`].
    pub fn fusion_inputs(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
    ) -> Result<FusionInputs> {
        let g = self
            .gather(req, query_vec, false, Executors::default())?
            .expect("a search that may embed always answers");
        let id = |v: Vid| -> Result<String> {
            Ok(match self.addr_of(v)? {
                Some(a) => self.stored(a)?.doc.id.clone(),
                None => String::new(),
            })
        };
        let named = |list: &[(Vid, f32)]| -> Result<Vec<(String, f32)>> {
            list.iter().map(|(v, s)| Ok((id(*v)?, *s))).collect()
        };
        let fused_lexical = &g.lexical[..g.lexical.len().min(LEXICAL_DEPTH)];
        Ok(FusionInputs {
            mode: g.mode,
            lexical: named(fused_lexical)?,
            semantic: named(&g.semantic)?,
            pinned: g.pinned.iter().map(|v| id(*v)).collect::<Result<_>>()?,
            semantic_weight: g.semantic_weight,
        })
    }

    /// The lexical side: the best `max(LEXICAL_DEPTH, want)` matches and the whole match set.
    /// Pinning looks at the top LEXICAL_DEPTH in every mode, so what is pinned never depends
    /// on the page asked for.
    #[allow(clippy::too_many_arguments)]
    fn lexical_list(
        &self,
        mode: Mode,
        want: usize,
        lex: &text::LexicalQuery,
        query: impl FnOnce() -> Box<dyn Query>,
        term_filters: &[Box<dyn Query>],
        numeric: Option<&text::NumericFilter>,
        exec: Executors,
    ) -> Result<(Vec<(f32, DocAddress)>, MatchSet)> {
        // Pinning looks at the top LEXICAL_DEPTH in every mode, so what is pinned never
        // depends on the page asked for.
        let depth = LEXICAL_DEPTH.max(want);
        let collector = MatchSetCollector {
            with_facets: true,
            with_vids: mode == Mode::Hybrid,
            vid_words: self.vid_words(),
            tables: self.cols.clone(),
            top: depth,
            part_boost: lex.part_boost,
        };
        let mut set = self.match_set(
            query,
            &lex.clauses,
            term_filters,
            numeric,
            &collector,
            exec.lexical,
        )?;
        Ok((std::mem::take(&mut set.top), set))
    }

    /// Exact code matches, best tier first: sku, then a machine of that model, then a part of
    /// that series; then documents meeting a hard constraint of the query (parts declared for
    /// the named machine that meet the need), then the parts of their series among the lexical
    /// candidates; lexical order within a tier.
    fn pins(
        &self,
        lex_cands: &[Candidate],
        lex_top: &[(f32, DocAddress)],
        pin_codes: &HashSet<String>,
        machines: &HashSet<String>,
    ) -> Vec<Vid> {
        let codes: Vec<text::SegmentCodes> = if pin_codes.is_empty() {
            Vec::new()
        } else {
            self.cols
                .iter()
                .map(|t| t.resolve_codes(pin_codes))
                .collect()
        };
        let mut p: Vec<(u8, usize, Vid)> = Vec::new();
        for (rank, (c, (score, _))) in lex_cands
            .iter()
            .zip(lex_top)
            .enumerate()
            .take(LEXICAL_DEPTH)
        {
            let tier = match c.addr {
                Some(addr) if !codes.is_empty() => self.cols[addr.segment_ord as usize]
                    .pin_tier(addr.doc_id, &codes[addr.segment_ord as usize]),
                _ => None,
            };
            // Documents meeting a query's hard constraint (a part declared for the named
            // machine that matches the need) follow the exact codes.
            let tier = tier.or((*score >= text::CONSTRAINT_SCORE).then_some(3));
            if let Some(t) = tier {
                p.push((t, rank, c.vid));
            }
        }
        self.follow_series(lex_cands, machines, &mut p);
        p.sort();
        p.into_iter().map(|x| x.2).collect()
    }

    /// Adds tier 4 to the pins `p` (tier, lexical rank, vid): the lexical candidates of the
    /// same series as a part meeting the query's constraint (tier 3), such as another maker's
    /// V-belt of the same profile or a ball screw of the same size: what fits the machine's
    /// part fits the machine. A part whose model is the named machine itself (`Комплект ТО-1
    /// для VCN-530C`, model `VCN-530C`) has no series: following it would pin every part
    /// modelled after the machine, whatever the need.
    fn follow_series(
        &self,
        lex_cands: &[Candidate],
        machines: &HashSet<String>,
        p: &mut Vec<(u8, usize, Vid)>,
    ) {
        let series: HashSet<String> = p
            .iter()
            .filter(|x| x.0 == 3)
            .filter_map(|x| lex_cands[x.1].addr)
            .filter_map(|a| self.cols[a.segment_ord as usize].model_key(a.doc_id))
            .filter(|key| !machines.contains(*key))
            .map(str::to_string)
            .collect();
        if series.is_empty() {
            return;
        }
        let resolved: Vec<text::SegmentCodes> =
            self.cols.iter().map(|t| t.resolve_codes(&series)).collect();
        let taken: HashSet<usize> = p.iter().map(|x| x.1).collect();
        for (rank, c) in lex_cands.iter().enumerate().take(LEXICAL_DEPTH) {
            let Some(addr) = c.addr.filter(|_| !taken.contains(&rank)) else {
                continue;
            };
            let seg = addr.segment_ord as usize;
            if self.cols[seg].pin_tier(addr.doc_id, &resolved[seg]) == Some(2) {
                p.push((4, rank, c.vid));
            }
        }
    }

    /// The vector the semantic side searches with (`Some(None)`: none, hybrid degrades to
    /// lexical; `None`: deferred, the vector is not in the cache and the caller computes it).
    /// A query that names a part number or model exactly says little in words (an embedding of
    /// `0903573` is noise); what is like it is what is like the document it names, so that
    /// document's own vector stands in for the query's (and nothing is embedded).
    fn query_vector<'v>(
        &self,
        mode: Mode,
        code_pinned: bool,
        pinned: &[Vid],
        query_vec: Option<&'v [f32]>,
        defer: bool,
        text: &str,
    ) -> Result<Option<Option<QueryVec<'v>>>> {
        if mode == Mode::Lexical {
            return Ok(Some(None));
        }
        if let Some(v) = (mode == Mode::Hybrid && code_pinned)
            .then(|| self.vectors.vector(pinned[0]))
            .flatten()
        {
            return Ok(Some(Some(QueryVec::Owned(v))));
        }
        if let Some(v) = query_vec {
            return Ok(Some(Some(QueryVec::Borrowed(v))));
        }
        // Deferred, a vector not in the cache is the caller's to compute.
        let vector = match &self.embedder {
            Some(e) if defer => match e.cached(&self.semantic_text(text)) {
                Some(v) => Some(Ok(v)),
                None => return Ok(None),
            },
            Some(e) => Some(e.embed_query(&self.semantic_text(text))),
            None => None,
        };
        match vector {
            Some(Ok(v)) => Ok(Some(Some(QueryVec::Cached(v)))),
            Some(Err(e)) if mode == Mode::Semantic => Err(e),
            None if mode == Mode::Semantic => {
                Err(Error::Embedding("no embedding model loaded".into()))
            }
            _ => Ok(Some(None)),
        }
    }

    /// The semantic side: the best SEMANTIC_DEPTH (semantic mode: at least `want`) live
    /// documents passing the filters by cosine, scanned exactly, by the walk's 8-bit copies or
    /// through the graph by the filter's share.
    #[allow(clippy::too_many_arguments)]
    fn semantic_list(
        &self,
        qv: &[f32],
        mode: Mode,
        want: usize,
        req: &SearchRequest,
        term_filters: &[Box<dyn Query>],
        numeric: Option<&text::NumericFilter>,
        exec: Executors,
    ) -> Result<Vec<(Vid, f32)>> {
        let f = &self.fields;
        let sem: Vec<(Vid, f32)>;
        let k = if mode == Mode::Semantic {
            SEMANTIC_DEPTH.max(want)
        } else {
            SEMANTIC_DEPTH
        };
        if req.filters.is_empty() && self.docs <= EXACT_CATALOG_MAX {
            // A catalog this small is scanned: a fraction of a millisecond, exact, and its
            // ranking does not depend on the graph's (thread-timing dependent) shape.
            sem = self
                .vectors
                .exact_search(qv, k, &mut bits::iter(&self.live));
        } else if req.filters.is_empty() {
            sem = self
                .vectors
                .search(qv, k, None, 1.0, &|v| bits::contains(&self.live, v));
        } else {
            let collector = MatchSetCollector {
                with_facets: mode == Mode::Semantic,
                with_vids: true,
                vid_words: self.vid_words(),
                tables: self.cols.clone(),
                top: 0,
                part_boost: 0.0,
            };
            let set = self.match_set(
                || text::with_filters(Box::new(tantivy::query::AllQuery), req.filters.clauses(f)),
                &[],
                term_filters,
                numeric,
                &collector,
                exec.lexical,
            )?;
            let share = set.count as f64 / self.docs.max(1) as f64;
            sem = if set.count <= EXACT_SEARCH_MAX || share < EXACT_SEARCH_SHARE {
                let mut it = bits::iter(&set.vids);
                self.vectors.scan_search_by(qv, k, &mut it, exec.graph)
            } else {
                self.vectors.search_by(
                    qv,
                    k,
                    None,
                    share,
                    &|v| bits::contains(&self.live, v) && set.contains(v),
                    exec.graph,
                )
            };
        }
        Ok(sem)
    }

    /// The hits of a page: each document's card, with highlights when `query` is given;
    /// those in `exact` are marked as pinned.
    fn hits(
        &self,
        page: impl Iterator<Item = (Vid, f32, Option<DocAddress>)>,
        query: Option<&dyn Query>,
        exact: &HashSet<Vid>,
    ) -> Result<Vec<Hit>> {
        let f = &self.fields;
        let mut hits = Vec::new();
        let gens = match query {
            Some(query) => Some((
                Highlighter::create(&self.text, query, f.name)?,
                Highlighter::create(&self.text, query, f.description)?,
            )),
            None => None,
        };
        for (vid, score, addr) in page {
            let addr = match addr {
                Some(a) => a,
                None => match self.addr_of(vid)? {
                    Some(a) => a,
                    None => continue,
                },
            };
            let stored = self.stored(addr)?;
            let mut highlights = Vec::new();
            if let Some((gn, gd)) = gens
                .as_ref()
                .filter(|(n, d)| !n.is_empty() || !d.is_empty())
            {
                let doc = &stored.doc;
                let [name, description] = stored.tokens();
                if let Some(h) = gn.highlight(&doc.name, name) {
                    highlights.push(("name", h));
                }
                if let Some(h) = gd.highlight(&doc.description, description) {
                    highlights.push(("description", h));
                }
            }
            hits.push(Hit {
                exact: exact.contains(&vid),
                doc: stored.doc.clone(),
                score,
                highlights,
            });
        }
        Ok(hits)
    }

    /// The text the query embedding is computed from (see [`text::semantic_text`]).
    pub fn semantic_text(&self, text: &str) -> String {
        text::semantic_text(
            &self.fields,
            &self.vocab(),
            &self.config.synonyms,
            text.trim(),
        )
    }

    /// The lexical plan a text turns into, for diagnostics.
    pub fn explain(&self, text: &str) -> String {
        let lex = text::build_query(&self.fields, &self.vocab(), &self.config.synonyms, text);
        format!(
            "{:#?}\npinned codes: {:?}\nspare-part boost: {}",
            lex.clauses, lex.pin_codes, lex.part_boost
        )
    }
}

/// Request values the caller must fix.
fn validate(req: &SearchRequest) -> Result<()> {
    if req.text.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::InvalidRequest(format!(
            "query is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    if let (Some(lo), Some(hi)) = (req.filters.price_min, req.filters.price_max) {
        if lo > hi {
            return Err(Error::InvalidRequest(
                "price_min is greater than price_max".into(),
            ));
        }
    }
    Ok(())
}

fn facets_of(snap: &Snapshot, vids: &[(Vid, f32)]) -> Result<Facets> {
    // Count by segment and ordinal first and resolve each counted ordinal to its string once:
    // dictionary lookups cost far more than counting.
    let mut ords: Vec<[Vec<u64>; 3]> = snap
        .cols
        .iter()
        .map(|c| std::array::from_fn(|i| vec![0; c.facet_len(i)]))
        .collect();
    for (vid, _) in vids {
        if let Some(addr) = snap.addr_of(*vid)? {
            let seg = addr.segment_ord as usize;
            for (i, counts) in ords[seg].iter_mut().enumerate() {
                if let Some(c) = snap.cols[seg]
                    .facet_ord(addr.doc_id, i)
                    .and_then(|o| counts.get_mut(o as usize))
                {
                    *c += 1;
                }
            }
        }
    }
    let resolve = |i: usize| {
        let mut m: HashMap<&str, u64> = HashMap::new();
        for (seg, counts) in ords.iter().enumerate() {
            for (ord, &n) in counts[i].iter().enumerate() {
                if n > 0 {
                    if let Some(s) = snap.cols[seg].facet_str(i, ord as u32) {
                        *m.entry(s).or_default() += n;
                    }
                }
            }
        }
        let mut v: Vec<(String, u64)> = m.into_iter().map(|(s, n)| (s.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    Ok(Facets {
        kind: resolve(0),
        category: resolve(1),
        brand: resolve(2),
    })
}

/// True when most letter-bearing words of the query are Latin and not codes (an English query).
fn latin_words_query(text: &str) -> bool {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic) && !crate::analysis::is_code_like(w))
        .collect();
    let latin = words
        .iter()
        .filter(|w| {
            w.chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| c.is_ascii_alphabetic())
        })
        .count();
    words.len() >= 2 && latin * 3 >= words.len() * 2
}

fn merge_facets(a: Facets, b: Facets) -> Facets {
    let merge = |x: Vec<(String, u64)>, y: Vec<(String, u64)>| {
        let mut m: HashMap<String, u64> = x.into_iter().collect();
        for (k, v) in y {
            *m.entry(k).or_default() += v;
        }
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    Facets {
        kind: merge(a.kind, b.kind),
        category: merge(a.category, b.category),
        brand: merge(a.brand, b.brand),
    }
}
