//! The trigger-alert plugin executable: everything is in the library, so that its
//! behaviour can be tested without a server.

fn main() {
    chorus_plugin::serve(trigger_alert::TriggerAlert)
}
