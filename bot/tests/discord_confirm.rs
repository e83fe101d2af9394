//! The Confirm / Cancel step wrapped around the real service (Open Cloud emulator, audit API,
//! stand-in game server holding the wallet): nothing is signed, reserved, published or written
//! unless the invoking member confirms before the deadline.

mod support;

use bot::discord::confirm::{
    BoxFut, Button, CancelReason, Confirmation, Incoming, PressSource, confirm_then,
};
use bot::service::Outcome;
use shared::Op;
use std::time::Duration;
use support::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct ChannelPresses(mpsc::UnboundedReceiver<(u64, Button)>);

impl PressSource for ChannelPresses {
    type Handle = ();

    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<()>>> {
        Box::pin(async move {
            match tokio::time::timeout(wait, self.0.recv()).await {
                Ok(Some((user, button))) => Some(Incoming {
                    user,
                    button,
                    handle: (),
                }),
                _ => None,
            }
        })
    }

    fn refuse(&mut self, _: ()) -> BoxFut<'_, ()> {
        Box::pin(async {})
    }

    fn accept(&mut self, _: ()) -> BoxFut<'_, ()> {
        Box::pin(async {})
    }
}

const INVOKER: u64 = 123456789012345678;

#[tokio::test]
async fn no_publish_and_no_write_before_confirm_then_exactly_one_command() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-C", Some(api.game_client()));
    server.join(ALICE);
    let service = world.service(&api, service_config()).await;
    let before = world.calls();

    // A bystander presses Confirm, then nobody else: cancelled at the deadline.
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send((42, Button::Confirm)).unwrap();
    let mut presses = ChannelPresses(rx);
    let machine = Confirmation::new(INVOKER, Instant::now() + Duration::from_millis(300));
    let r = confirm_then(&mut presses, machine, || {
        service.execute(request(Op::Give, ALICE, 500_000))
    })
    .await;
    assert_eq!(r.err(), Some(CancelReason::TimedOut));
    let after = world.calls().since(&before);
    assert_eq!(
        (after.publish, after.set),
        (0, 0),
        "nothing published or written"
    );
    assert!(
        service.db().pending().await.unwrap().is_empty(),
        "nothing reserved"
    );
    assert_eq!(server.seen(), 0);

    // The invoker confirms: exactly one command goes out and is applied by the server.
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send((INVOKER, Button::Confirm)).unwrap();
    let mut presses = ChannelPresses(rx);
    let machine = Confirmation::new(INVOKER, Instant::now() + Duration::from_secs(60));
    let receipt = confirm_then(&mut presses, machine, || {
        service.execute(request(Op::Give, ALICE, 500_000))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        matches!(
            receipt.outcome,
            Outcome::Applied {
                balance_after: 500_000,
                ..
            }
        ),
        "{:?}",
        receipt.outcome
    );
    assert_eq!(server.applied(), 1);
    world.assert_single_writer();
}
