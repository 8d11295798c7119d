//! What waits in the async queue: a task of an urgency class, which the
//! scheduler runs on a worker without knowing what it does. The domain
//! (popups, agents ringing, lookups, call logs) builds its tasks in
//! `flow/` and `call_logs/`; a task runs its work, or ends as cancelled, and
//! calls its completion exactly once.

use crate::error::ErrorKind;

/// Called once with the final report of an async call.
pub type Completion<R> = Box<dyn FnOnce(R) + Send + 'static>;

/// The urgency classes of "One account, one budget": a free worker takes
/// the most urgent task waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    /// A popup, and the lookups it waits on: a ringing phone does not wait.
    Popup = 0,
    /// A lookup asked for on its own.
    Lookup = 1,
    /// A call log: durable, it can wait.
    Log = 2,
}

impl Class {
    pub const COUNT: usize = 3;

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a popup ended, for the popup counters: `None` for a task that is
/// not a popup, `Some(None)` for one shown, `Some(Some(kind))` for one that
/// failed.
pub(crate) type PopupOutcome = Option<Option<ErrorKind>>;

/// One unit of queued work.
pub(crate) trait Task: Send {
    /// Its urgency.
    fn class(&self) -> Class;

    /// Whether it is refused once the scheduler is closing (everything but
    /// the completion of work that shutdown itself ended).
    fn refused_when_closing(&self) -> bool {
        true
    }

    /// Runs it, or, when `cancelling` (shutdown's grace is over), ends it
    /// as cancelled; either way calls its completion once. Returns what the
    /// popup counters count.
    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome;
}

/// A queued task.
pub(crate) type Job = Box<dyn Task>;

/// A task that only calls a closure: shutdown's own work (the completion
/// of a task it ended), never refused while closing.
pub(crate) struct Finally {
    pub class: Class,
    pub run: Box<dyn FnOnce() + Send>,
}

impl Task for Finally {
    fn class(&self) -> Class {
        self.class
    }

    fn refused_when_closing(&self) -> bool {
        false
    }

    fn run(self: Box<Self>, _cancelling: bool) -> PopupOutcome {
        (self.run)();
        None
    }
}
