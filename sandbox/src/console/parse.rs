//! The console's command language: Discord's slash commands typed as text
//! (`/give user:123 amount:10 reason:"event prize"`) plus the sandbox's own commands.

use bot::frontend::{
    AuditArgs, AuditInput, BalanceArgs, MemberRef, MoveArgs, MoveInput, OptionError, PageLimits,
    PayoutArgs, PayoutInput, ReverseArgs, ReverseInput,
};

/// `/give` and `/deduct`: the shared, checked arguments plus the console's stand-in for Discord's
/// Confirm button.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleMove {
    /// The checked arguments.
    pub args: MoveArgs,
    /// `confirm:yes`: confirms an amount above the confirmation threshold.
    pub confirm: bool,
}

/// `/reverse`: the shared, checked arguments plus the console's stand-in for Confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleReverse {
    /// The checked arguments.
    pub args: ReverseArgs,
    /// `confirm:yes`: confirms an amount above the confirmation threshold.
    pub confirm: bool,
}

/// `/payout`: the shared, checked arguments plus the console's stand-in for Confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsolePayout {
    /// The checked arguments.
    pub args: PayoutArgs,
    /// `confirm:yes`: a payout always needs it.
    pub confirm: bool,
}

/// What the shared option rules need to know: the service's largest amount and the console's
/// page sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Largest amount per command.
    pub max_amount: i64,
    /// `/audit` page sizes.
    pub pages: PageLimits,
    /// The service clock's Unix ms (the `since` / `until` rules).
    pub now_ms: i64,
    /// Most players in one payout.
    pub max_players: usize,
}

/// One console command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsoleCommand {
    /// `/give`.
    Give(ConsoleMove),
    /// `/deduct`.
    Deduct(ConsoleMove),
    /// `/reverse txn:… reason:"…"`.
    Reverse(ConsoleReverse),
    /// `/payout amount:… reason:"…" players:"…" confirm:yes`.
    Payout(ConsolePayout),
    /// `/balance user:…` or `/balance member:<discord id>`.
    Balance(BalanceArgs),
    /// `/link set member:<discord id> roblox:<id or username>`: a staff link.
    LinkSet {
        /// The member.
        member: MemberRef,
        /// The Roblox user as typed.
        roblox: String,
    },
    /// `/link remove member:<discord id>`.
    LinkRemove(MemberRef),
    /// `/audit [user:…] [actor:…] [limit:…] [cursor:…] [since:…] [until:…] [totals:yes]`.
    Audit(AuditArgs),
    /// Who is online where.
    Players,
    /// The game servers.
    Servers,
    /// Kill a server (no BindToClose, nothing saved).
    Crash(usize),
    /// Start one more server.
    Start,
    /// A player joins a server.
    Join {
        /// User id.
        user: u64,
        /// Server index.
        server: usize,
    },
    /// A player leaves.
    Leave {
        /// User id.
        user: u64,
    },
    /// Recent server output.
    Logs {
        /// Lines to show.
        lines: usize,
    },
    /// The command list.
    Help,
    /// Shut everything down.
    Quit,
}

/// Why a line is not a command; the text is shown as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// `/audit` page sizes (the bot's CLI uses the same bounds).
pub const AUDIT_PAGES: PageLimits = PageLimits {
    default: 20,
    max: 100,
};

/// A shared option rule broken, named with the command.
fn refused<T>(command: &str, e: OptionError) -> Result<T, ParseError> {
    err(format!("/{command}: {e}"))
}

/// Splits a line into words; a `"…"` part (with `\"` and `\\` escapes) may contain spaces.
fn words(line: &str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c != '"' {
                word.push(c);
                continue;
            }
            loop {
                match chars.next() {
                    None => return err("a quoted value is missing its closing \""),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e @ ('"' | '\\')) => word.push(e),
                        Some(other) => {
                            word.push('\\');
                            word.push(other);
                        }
                        None => return err("a quoted value is missing its closing \""),
                    },
                    Some(other) => word.push(other),
                }
            }
        }
        out.push(word);
    }
}

/// `name:value` options of a slash command, each at most once, only the allowed names.
struct Options {
    command: &'static str,
    pairs: Vec<(String, String)>,
}

impl Options {
    fn parse(command: &'static str, args: &[String], allowed: &[&str]) -> Result<Self, ParseError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for arg in args {
            let Some((name, value)) = arg.split_once(':') else {
                return err(format!(
                    "/{command}: {arg:?} is not an option; write name:value (options: {})",
                    allowed.join(", ")
                ));
            };
            let name = name.to_ascii_lowercase();
            if !allowed.contains(&name.as_str()) {
                return err(format!(
                    "/{command} has no option {name:?} (options: {})",
                    allowed.join(", ")
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return err(format!("/{command}: option {name} is given twice"));
            }
            pairs.push((name, value.to_owned()));
        }
        Ok(Self { command, pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str, what: &str) -> Result<&str, ParseError> {
        match self.get(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => err(format!("/{}: {name}:{what} is required", self.command)),
        }
    }
}

/// A whole number as typed (`1_000` reads as 1000); its range is the shared rules' business.
fn whole_number(command: &str, name: &str, text: &str) -> Result<i64, ParseError> {
    let text = text.trim().replace('_', "");
    match text.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(_)
            if !text.is_empty()
                && text
                    .trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            err(format!("/{command}: {name} is too large"))
        }
        Err(_) => err(format!("/{command}: {name} must be a whole number")),
    }
}

fn parse_move(
    command: &'static str,
    args: &[String],
    rules: &Rules,
) -> Result<ConsoleMove, ParseError> {
    let o = Options::parse(
        command,
        args,
        &["user", "member", "amount", "reason", "txn", "confirm"],
    )?;
    let input = MoveInput {
        user: o.get("user").map(str::to_owned),
        member: member_option(command, &o)?,
        amount: whole_number(command, "amount", o.required("amount", "<whole number>")?)?,
        reason: o.required("reason", "\"why\"")?.to_owned(),
        txn: o.get("txn").map(str::to_owned),
    };
    let confirm = confirm_option(command, &o)?;
    let args = MoveArgs::parse(&input, rules.max_amount).or_else(|e| refused(command, e))?;
    Ok(ConsoleMove { args, confirm })
}

/// `member:<Discord user id>` (absent: none). The console has no server member list, so any id
/// is taken as a member; its link decides.
fn member_option(command: &str, o: &Options) -> Result<Option<MemberRef>, ParseError> {
    o.get("member")
        .map(|raw| {
            let id = bot::frontend::args::parse_actor(raw)
                .ok()
                .and_then(|id| id.parse::<u64>().ok());
            match id {
                Some(id) => Ok(MemberRef::in_server(id)),
                None => refused(command, OptionError::MemberId),
            }
        })
        .transpose()
}

/// `confirm:yes|no` (absent: no).
fn confirm_option(command: &str, o: &Options) -> Result<bool, ParseError> {
    match o.get("confirm").map(str::to_ascii_lowercase).as_deref() {
        None | Some("no" | "false") => Ok(false),
        Some("yes" | "true") => Ok(true),
        Some(_) => err(format!("/{command}: confirm must be yes or no")),
    }
}

fn parse_link(args: &[String]) -> Result<ConsoleCommand, ParseError> {
    let usage =
        "link set member:<discord id> roblox:<id or username> | link remove member:<discord id>";
    let Some((sub, rest)) = args.split_first() else {
        return err(format!("usage: {usage}"));
    };
    let member = |o: &Options| match member_option("link", o)? {
        Some(m) => Ok(m),
        None => err(format!("/link: member is required (usage: {usage})")),
    };
    match sub.to_ascii_lowercase().as_str() {
        "set" => {
            let o = Options::parse("link", rest, &["member", "roblox"])?;
            Ok(ConsoleCommand::LinkSet {
                member: member(&o)?,
                roblox: o.required("roblox", "<id or username>")?.to_owned(),
            })
        }
        "remove" => {
            let o = Options::parse("link", rest, &["member"])?;
            Ok(ConsoleCommand::LinkRemove(member(&o)?))
        }
        _ => err(format!("usage: {usage}")),
    }
}

fn parse_reverse(args: &[String]) -> Result<ConsoleReverse, ParseError> {
    let o = Options::parse("reverse", args, &["txn", "reason", "confirm"])?;
    let input = ReverseInput {
        txn: o.required("txn", "<txn id>")?.to_owned(),
        reason: o.required("reason", "\"why\"")?.to_owned(),
    };
    let confirm = confirm_option("reverse", &o)?;
    let args = ReverseArgs::parse(&input).or_else(|e| refused("reverse", e))?;
    Ok(ConsoleReverse { args, confirm })
}

fn parse_payout(args: &[String], rules: &Rules) -> Result<ConsolePayout, ParseError> {
    let o = Options::parse("payout", args, &["amount", "reason", "players", "confirm"])?;
    let input = PayoutInput {
        amount: whole_number("payout", "amount", o.required("amount", "<whole number>")?)?,
        reason: o.required("reason", "\"why\"")?.to_owned(),
        role: None,
        players: Some(o.required("players", "\"<ids or usernames>\"")?.to_owned()),
        file: None,
    };
    let confirm = confirm_option("payout", &o)?;
    let args = PayoutArgs::parse(&input, rules.max_amount, rules.max_players)
        .or_else(|e| refused("payout", e))?;
    Ok(ConsolePayout { args, confirm })
}

fn parse_audit(args: &[String], rules: &Rules) -> Result<AuditArgs, ParseError> {
    let o = Options::parse(
        "audit",
        args,
        &[
            "user", "actor", "limit", "cursor", "since", "until", "totals",
        ],
    )?;
    let totals = match o.get("totals").map(str::to_ascii_lowercase).as_deref() {
        None | Some("no" | "false") => false,
        Some("yes" | "true") => true,
        Some(_) => return err("/audit: totals must be yes or no".to_owned()),
    };
    let input = AuditInput {
        user: o.get("user").map(str::to_owned),
        member: None,
        actor: o.get("actor").map(str::to_owned),
        limit: o
            .get("limit")
            .map(|l| whole_number("audit", "limit", l))
            .transpose()?,
        cursor: o.get("cursor").map(str::to_owned),
        since: o.get("since").map(str::to_owned),
        until: o.get("until").map(str::to_owned),
        totals,
        csv: false,
    };
    AuditArgs::parse(&input, rules.pages, rules.now_ms).or_else(|e| refused("audit", e))
}

fn number<T: std::str::FromStr>(
    word: Option<&String>,
    what: &str,
    usage: &str,
) -> Result<T, ParseError> {
    match word.map(|w| w.parse::<T>()) {
        Some(Ok(n)) => Ok(n),
        Some(Err(_)) => err(format!("{what} must be a number; usage: {usage}")),
        None => err(format!("usage: {usage}")),
    }
}

fn no_more(rest: &[String], usage: &str) -> Result<(), ParseError> {
    if rest.is_empty() {
        Ok(())
    } else {
        err(format!("too many words; usage: {usage}"))
    }
}

/// Parses one console line, checking Discord's commands by the shared rules; `Ok(None)` for an
/// empty line.
pub fn parse(line: &str, rules: &Rules) -> Result<Option<ConsoleCommand>, ParseError> {
    let words = words(line)?;
    let Some((head, rest)) = words.split_first() else {
        return Ok(None);
    };
    let name = head.trim_start_matches('/').to_ascii_lowercase();
    let cmd = match name.as_str() {
        "give" => ConsoleCommand::Give(parse_move("give", rest, rules)?),
        "deduct" => ConsoleCommand::Deduct(parse_move("deduct", rest, rules)?),
        "reverse" => ConsoleCommand::Reverse(parse_reverse(rest)?),
        "payout" => ConsoleCommand::Payout(parse_payout(rest, rules)?),
        "balance" => {
            let o = Options::parse("balance", rest, &["user", "member"])?;
            let member = member_option("balance", &o)?;
            ConsoleCommand::Balance(
                BalanceArgs::parse_one(o.get("user"), member).or_else(|e| refused("balance", e))?,
            )
        }
        "link" => parse_link(rest)?,
        "audit" => ConsoleCommand::Audit(parse_audit(rest, rules)?),
        "players" => {
            no_more(rest, "players")?;
            ConsoleCommand::Players
        }
        "servers" => {
            no_more(rest, "servers")?;
            ConsoleCommand::Servers
        }
        "crash" => {
            let usage = "crash <server number>";
            no_more(rest.get(1..).unwrap_or_default(), usage)?;
            ConsoleCommand::Crash(number(rest.first(), "the server", usage)?)
        }
        "start" => {
            no_more(rest, "start")?;
            ConsoleCommand::Start
        }
        "join" => {
            let usage = "join <user id> <server number>";
            no_more(rest.get(2..).unwrap_or_default(), usage)?;
            ConsoleCommand::Join {
                user: number(rest.first(), "the user id", usage)?,
                server: number(rest.get(1), "the server", usage)?,
            }
        }
        "leave" => {
            let usage = "leave <user id>";
            no_more(rest.get(1..).unwrap_or_default(), usage)?;
            ConsoleCommand::Leave {
                user: number(rest.first(), "the user id", usage)?,
            }
        }
        "logs" => {
            let usage = "logs [lines]";
            no_more(rest.get(1..).unwrap_or_default(), usage)?;
            ConsoleCommand::Logs {
                lines: if rest.is_empty() {
                    20
                } else {
                    number(rest.first(), "lines", usage)?
                },
            }
        }
        "help" | "?" => ConsoleCommand::Help,
        "quit" | "exit" => ConsoleCommand::Quit,
        other => {
            return err(format!(
                "unknown command {:?}; type help for the list",
                other.chars().take(30).collect::<String>()
            ));
        }
    };
    Ok(Some(cmd))
}

/// The help text.
pub const HELP: &str = "\
Discord commands (same options as in Discord):
  /give user:<id|name> amount:<n> reason:\"why\" [txn:<id>] [confirm:yes]
  /deduct user:<id|name> amount:<n> reason:\"why\" [txn:<id>] [confirm:yes]
      txn: re-send an earlier command (a replay is reported as already processed)
      confirm:yes: needed above the confirmation threshold (Discord's confirm button)
  /reverse txn:<id> reason:\"why\" [confirm:yes]
      undo an applied movement once: the opposite movement of its amount, naming it
  /payout amount:<n> reason:\"why\" players:\"<ids or names>\" [confirm:yes]
      pay every listed player once (shows the preview; confirm:yes runs it, with a summary
      and every player's outcome as CSV)
  /balance user:<id|name>
  /audit [user:<id|name>] [actor:<discord id>] [limit:1-100] [cursor:<from the last page>]
         [since:<UTC date or time>] [until:<UTC date or time>] [totals:yes]
      since/until: 2026-12-01, 2026-12-01T14:30 or \"2026-12-01 14:30:05\" (UTC); a bare date
      as until includes that whole day. totals:yes: sums per staff member and per player
Sandbox commands:
  players                  who is online, on which server
  servers                  game servers, their JobIds and players
  join <user> <server>     a player joins (or hops to) a server
  leave <user>             a player leaves
  crash <server>           kill a server (no BindToClose, nothing saved)
  start                    start one more server
  logs [n]                 the last n lines the servers printed
  help                     this list
  quit                     shut everything down (Ctrl-C works too)";

#[cfg(test)]
mod tests {
    use super::*;
    use bot::frontend::Who;
    use bot::service::Target;
    use shared::TxnId;

    /// 2026-12-04 12:00 UTC.
    const NOW_MS: i64 = 1_796_385_600_000;
    const RULES: Rules = Rules {
        max_amount: 1_000_000,
        pages: AUDIT_PAGES,
        now_ms: NOW_MS,
        max_players: 3,
    };

    fn ok(line: &str) -> ConsoleCommand {
        parse(line, &RULES).unwrap().unwrap()
    }

    fn bad(line: &str) -> String {
        parse(line, &RULES).unwrap_err().0
    }

    #[test]
    fn payout_reads_like_discord_and_checks_the_list() {
        let ConsoleCommand::Payout(p) =
            ok(r#"/payout amount:50 reason:"event" players:"1001, alice 1001" confirm:yes"#)
        else {
            panic!("not a payout")
        };
        assert!(p.confirm);
        assert_eq!(
            p.args.players,
            bot::frontend::PayoutPlayers::List {
                targets: vec![Target::Id(1001), Target::Name("alice".into())],
                duplicates: 1,
            }
        );
        assert!(bad(r#"/payout amount:50 reason:"x" players:"1 2 3 4""#).contains("at most 3"));
        assert!(bad(r#"/payout amount:50 reason:"x" players:"1 a!b""#).contains("\"a!b\""));
        assert!(bad(r#"/payout amount:50 reason:"x""#).contains("players"));
    }

    #[test]
    fn reverse_reads_like_discord() {
        let txn = TxnId::generate();
        assert_eq!(
            ok(&format!(
                r#"/reverse txn:{txn} reason:"wrong player" confirm:yes"#
            )),
            ConsoleCommand::Reverse(ConsoleReverse {
                args: ReverseArgs {
                    original: txn.clone(),
                    reason: "wrong player".into(),
                },
                confirm: true,
            })
        );
        assert!(bad(r#"/reverse reason:"x""#).contains("txn:<txn id> is required"));
        assert!(bad(&format!("/reverse txn:{txn}")).contains("reason"));
        let lower = txn.as_str().to_ascii_lowercase();
        assert!(bad(&format!(r#"/reverse txn:{lower} reason:"x""#)).contains("`txn` must be"));
        assert!(bad(&format!(r#"/reverse txn:{txn} reason:"x" amount:5"#)).contains("no option"));
    }

    #[test]
    fn slash_commands_read_like_discord() {
        assert_eq!(
            ok(r#"/give user:123 amount:10 reason:"event prize""#),
            ConsoleCommand::Give(ConsoleMove {
                args: MoveArgs {
                    target: Who::Player(Target::Id(123)),
                    amount: 10,
                    reason: "event prize".into(),
                    replay: None,
                },
                confirm: false,
            })
        );
        let txn = TxnId::generate();
        let line = format!(
            r#"deduct amount:1_000 user:@Alice reason:"said \"oops\"" txn:{txn} confirm:yes"#
        );
        assert_eq!(
            ok(&line),
            ConsoleCommand::Deduct(ConsoleMove {
                args: MoveArgs {
                    target: Who::Player(Target::Name("Alice".into())),
                    amount: 1000,
                    reason: "said \"oops\"".into(),
                    replay: Some(txn),
                },
                confirm: true,
            })
        );
        assert_eq!(
            ok("/balance user:alice"),
            ConsoleCommand::Balance(BalanceArgs {
                target: Who::Player(Target::Name("alice".into()))
            })
        );
        assert_eq!(
            ok("/audit limit:5 user:1001"),
            ConsoleCommand::Audit(AuditArgs {
                user: Some(Who::Player(Target::Id(1001))),
                actor: None,
                limit: 5,
                cursor: None,
                since: None,
                until: None,
                totals: false,
            })
        );
        assert_eq!(
            ok("/audit"),
            ConsoleCommand::Audit(AuditArgs {
                user: None,
                actor: None,
                limit: AUDIT_PAGES.default,
                cursor: None,
                since: None,
                until: None,
                totals: false,
            })
        );
        // The same range and totals options as Discord, quoted when they hold a space.
        match ok("/audit since:2026-12-01 until:\"2026-12-03 18:00\" totals:yes") {
            ConsoleCommand::Audit(a) => {
                assert!(a.totals);
                assert_eq!(a.since, Some(NOW_MS - 3 * 86_400_000 - 12 * 3_600_000));
                assert_eq!(a.until, Some(NOW_MS - 86_400_000 + 6 * 3_600_000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sandbox_commands() {
        assert_eq!(ok("crash 3"), ConsoleCommand::Crash(3));
        assert_eq!(
            ok("join 1001 2"),
            ConsoleCommand::Join {
                user: 1001,
                server: 2
            }
        );
        assert_eq!(ok("leave 1001"), ConsoleCommand::Leave { user: 1001 });
        assert_eq!(ok("players"), ConsoleCommand::Players);
        assert_eq!(ok("SERVERS"), ConsoleCommand::Servers);
        assert_eq!(ok("logs"), ConsoleCommand::Logs { lines: 20 });
        assert_eq!(ok("quit"), ConsoleCommand::Quit);
        assert_eq!(ok("help"), ConsoleCommand::Help);
        assert_eq!(parse("   ", &RULES).unwrap(), None);
    }

    #[test]
    fn bad_input_gets_a_clear_error() {
        assert!(bad("/give user:1 amount:10").contains("reason"));
        assert!(bad("/give user:1 reason:x").contains("amount"));
        assert!(
            bad("/give user:1 amount:-5 reason:x")
                .contains("`amount` must be a whole number from 1")
        );
        assert!(bad("/give user:1 amount:1.5 reason:x").contains("whole number"));
        assert!(bad("/give user:1 amount:99999999999999999999 reason:x").contains("too large"));
        assert!(bad("/give user:1 amount:1 reason:x colour:red").contains("no option \"colour\""));
        assert!(bad("/give user:1 user:2 amount:1 reason:x").contains("twice"));
        assert!(bad("/give 1 10 x").contains("name:value"));
        assert!(bad(r#"/give user:1 amount:1 reason:"open"#).contains("closing"));
        assert!(bad("/give user:1 amount:1 reason:x txn:nope").contains("`txn` must be"));
        assert!(bad("/give user:1 amount:1 reason:x confirm:maybe").contains("yes or no"));
        assert!(bad("/audit limit:0").contains("from 1 to 100"));
        assert!(bad("/audit actor:abc").contains("digits"));
        assert!(bad("/audit since:yesterday").contains("`since` must be a UTC date"));
        assert!(bad("/audit since:2026-12-02 until:2026-12-01T00:00").contains("later than"));
        assert!(bad("/audit totals:maybe").contains("yes or no"));
        assert!(bad("crash").contains("usage"));
        assert!(bad("crash x").contains("number"));
        assert!(bad("join 1").contains("usage"));
        assert!(bad("fly away").contains("unknown command"));
    }

    #[test]
    fn discord_commands_follow_the_shared_option_rules() {
        // The console once took any 40 characters as a user and any reason.
        assert!(
            bad("/give user:a-b amount:1 reason:x").contains("`user` is not a Roblox username")
        );
        assert!(bad("/balance user:0").contains("`user` 0 is not a Roblox user id"));
        assert!(bad("/give user:alice amount:1 reason:\"a\nb\"").contains("`reason` must be"));
        assert!(
            bad(&format!(
                "/give user:alice amount:1 reason:{}",
                "x".repeat(201)
            ))
            .contains("`reason` must be")
        );
        assert!(bad("/give user:alice amount:1000001 reason:x").contains("from 1 to 1,000,000"));
        assert!(bad("/audit user:a_").contains("`user`"));
    }
}
