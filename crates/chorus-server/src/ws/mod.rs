//! The websocket hub: every live (and recently dropped) websocket connection of this
//! node, the per-connection event sequence, and delivery of events to the connections
//! of the users an event is for.
//!
//! Data flow: the domain layer decides *who* may see an event (see `app::events`) and calls
//! [`Hub::deliver`] with those user ids; the hub serialises the event once, numbers it
//! per connection, keeps it in that connection's backlog and hands it to the
//! connection's socket task through a bounded channel. The serialised body is shared by
//! every receiver (an `Arc<str>`); each socket adds its own `seq` as it writes. A socket
//! task owns one websocket: it authenticates, attaches to the hub (resuming a dropped
//! connection when the client presents its `connection_id` and a `sequence_number`
//! still in the backlog, else starting a new connection id with `hello` at seq 0),
//! answers client actions, and writes events.
//!
//! Memory is bounded (`HubLimits`): each connection's resume backlog by events and by
//! bytes, all backlogs together by bytes (past that, the resume state of the
//! connections dropped longest ago is forgotten first, then the oldest events of live
//! ones), sockets per user, per session and waiting for authentication. A client whose
//! resume state was forgotten gets a new connection id and `hello`, and catches up over
//! REST, exactly as after a long disconnection.
//!
//! A connection whose client cannot keep up (its channel is full) is cut; the client
//! reconnects and resumes from the backlog, so a slow reader never slows the others.
//!
//! `hub` is the infrastructure (connections, delivery, limits); `socket` is the
//! protocol spoken on each socket.

mod hub;
mod socket;

pub use hub::{sweep_forever, Hub, HubLimits, Refusal, UnauthenticatedSlot};
pub use socket::{serve_socket, Arrival, ConnectParams, SocketIdentity};
