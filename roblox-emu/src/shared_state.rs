//! The state every server of a universe shares: configuration, place, store, bus and experience, the virtual
//! clock, the seeded RNG, the trace, registered users and script sources.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use opencloud::emulator::{Bus, Experience, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::Backend;
use crate::config::UniverseConfig;
use crate::place::Place;
use crate::trace::Trace;

/// State shared by every server of a universe (single-threaded; never borrowed across Lua calls).
pub(crate) struct Shared {
    /// The universe's configuration.
    pub cfg: UniverseConfig,
    /// What every server runs.
    pub place: Rc<Place>,
    /// The shared data stores.
    pub store: Store,
    /// The shared MessagingService topics.
    pub bus: Bus,
    /// The experience limits shared with Open Cloud (request budgets, key throughput, CCU).
    pub experience: Experience,
    /// Virtual µs since the universe started (moved by the frame loop).
    pub now_us: Cell<u64>,
    /// The one seeded RNG every latency, GUID and fault decision comes from.
    pub rng: RefCell<ChaCha8Rng>,
    /// Every engine event with its virtual time.
    pub trace: RefCell<Trace>,
    /// Registered users (id → name) for the Players lookups.
    pub users: RefCell<BTreeMap<u64, String>>,
    /// Script sources by id: the place's items first, then snippets run later.
    sources: RefCell<Vec<(String, Rc<str>)>>,
}

impl Shared {
    /// The state of a universe starting now over `backend`'s store and bus.
    pub fn new(cfg: UniverseConfig, place: Place, backend: &Backend) -> Self {
        let sources = place
            .items
            .iter()
            .map(|i| {
                (
                    i.path.join("."),
                    Rc::from(i.source.clone().unwrap_or_default().as_str()),
                )
            })
            .collect();
        Self {
            rng: RefCell::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            trace: RefCell::new(Trace::new(cfg.keep_trace)),
            place: Rc::new(place),
            store: backend.store.clone(),
            bus: backend.bus.clone(),
            experience: backend.experience.clone(),
            now_us: Cell::new(0),
            users: RefCell::new(BTreeMap::new()),
            sources: RefCell::new(sources),
            cfg,
        }
    }

    /// Virtual µs since start.
    pub fn now_us(&self) -> u64 {
        self.now_us.get()
    }

    /// Virtual Unix ms.
    pub fn unix_ms(&self) -> i64 {
        self.cfg.start_unix_ms + (self.now_us.get() / 1000) as i64
    }

    /// A uniform draw in `[lo, hi)` (`lo` when the range is empty).
    pub fn uniform(&self, (lo, hi): (f64, f64)) -> f64 {
        if hi <= lo {
            return lo.max(0.0);
        }
        self.rng.borrow_mut().random_range(lo..hi)
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.rng.borrow_mut().random_bool(p.clamp(0.0, 1.0))
    }

    /// A version-4 GUID (upper-case hex, as `HttpService:GenerateGUID`).
    pub fn guid(&self) -> String {
        let mut b: [u8; 16] = self.rng.borrow_mut().random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode_upper(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Records an event at the current virtual time.
    pub fn trace(&self, server: Option<usize>, kind: &str, detail: &str) {
        self.trace
            .borrow_mut()
            .record(self.now_us.get(), server, kind, detail);
    }

    /// The id of a registered user by name (case-insensitive).
    pub fn user_id_from_name(&self, name: &str) -> Option<u64> {
        self.users
            .borrow()
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(id, _)| *id)
    }

    /// The name of a registered user.
    pub fn name_from_user_id(&self, id: u64) -> Option<String> {
        self.users.borrow().get(&id).cloned()
    }

    /// Source `id` and its name.
    pub fn source(&self, id: usize) -> Option<(String, Rc<str>)> {
        self.sources.borrow().get(id).cloned()
    }

    /// Adds a source (a snippet run later); returns its id.
    pub fn add_source(&self, name: &str, src: &str) -> usize {
        let mut s = self.sources.borrow_mut();
        s.push((name.to_owned(), Rc::from(src)));
        s.len() - 1
    }
}
