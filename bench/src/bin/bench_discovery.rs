//! Load generator of `scripts/bench-discovery.sh`: loads rooms with realistic Chinese and English
//! titles through the HTTP API of a running `liveroom serve`, then measures the live list and
//! search (latency, Redis commands and Redis CPU per request) and the Redis memory the search
//! index costs per room. It prints figures; it never passes or fails.
//!
//! HTTP is hand-written HTTP/1.1 with keep-alive over `TcpStream` (one connection per worker).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser, Debug, Clone)]
#[command(about = "Discovery benchmark: loads rooms, then measures list and search")]
struct Args {
    /// host:port of the liveroom service
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// The Redis the service uses (for INFO and MEMORY USAGE)
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// The service's key prefix (LIVEROOM_REDIS_KEY_PREFIX)
    #[arg(long, default_value = "lr:")]
    prefix: String,
    /// HS256 secret of the service (LIVEROOM_JWT_SECRET)
    #[arg(long, env = "LIVEROOM_JWT_SECRET")]
    secret: String,
    /// Rooms to load
    #[arg(long, default_value_t = 100_000)]
    rooms: usize,
    /// Connections used to load
    #[arg(long, default_value_t = 48)]
    load_concurrency: usize,
    /// Requests per scenario
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Connections used to measure
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Page of the "deep page" scenario (page_size 20)
    #[arg(long, default_value_t = 400)]
    deep_page: u32,
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.1 client

struct Http {
    addr: String,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Http {
    fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            conn: None,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> std::io::Result<Response> {
        // a kept-alive connection the server has closed meanwhile fails once: retry on a fresh one
        match self.try_send(method, path, token, body).await {
            Ok(r) => Ok(r),
            Err(_) => {
                self.conn = None;
                self.try_send(method, path, token, body).await
            }
        }
    }

    async fn try_send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> std::io::Result<Response> {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.conn = Some(s);
            self.buf.clear();
        }
        let conn = self.conn.as_mut().expect("connected");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n",
            self.addr
        );
        match body {
            Some(b) => {
                req.push_str(&format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                    b.len()
                ));
            }
            None => req.push_str("\r\n"),
        }
        conn.write_all(req.as_bytes()).await?;

        let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed");
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if read_more(conn, &mut self.buf).await? == 0 {
                return Err(eof());
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        for line in head.lines().skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        self.buf.drain(..head_end);
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    if read_more(conn, &mut self.buf).await? == 0 {
                        return Err(eof());
                    }
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| std::io::Error::other("bad chunk size"))?;
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    if read_more(conn, &mut self.buf).await? == 0 {
                        return Err(eof());
                    }
                }
                body.extend_from_slice(&self.buf[..size]);
                self.buf.drain(..size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            let n = length.unwrap_or(0);
            while self.buf.len() < n {
                if read_more(conn, &mut self.buf).await? == 0 {
                    return Err(eof());
                }
            }
            self.buf.drain(..n).collect()
        };
        if close {
            self.conn = None;
        }
        Ok(Response { status, body })
    }
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = conn.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// A query value, form-encoded as a browser sends it.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The envelope's `code` and `data`, when the answer is a success.
fn data_of(r: &Response) -> Option<Value> {
    if r.status != 200 {
        return None;
    }
    let v: Value = serde_json::from_slice(&r.body).ok()?;
    (v["code"] == 0).then(|| v["data"].clone())
}

// ---------------------------------------------------------------------------------------------
// Realistic titles and nicks

/// splitmix64: deterministic, so every run loads the same rooms.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const CN_TAGS: &[&str] = &[
    "【新人主播】",
    "【官方】",
    "【回放】",
    "【高能】",
    "【福利】",
    "【互动】",
    "【深夜】",
    "【首播】",
];
/// Six topics, one of them in each Chinese title (60% of rooms): each matches ~10% of rooms.
const CN_TOPICS: &[&str] = &[
    "王者荣耀",
    "英雄联盟",
    "原神",
    "和平精英",
    "户外旅行",
    "美食探店",
];
const CN_ACTIONS: &[&str] = &[
    "今晚一起上分",
    "带粉丝开黑",
    "新手教学",
    "巅峰对决",
    "陪你聊天",
    "冲击最强王者",
    "娱乐局",
    "排位赛",
    "钻石晋级赛",
    "技术流教学",
    "日常直播",
    "周末特别节目",
    "抽奖送福利",
    "打卡第100天",
    "通宵挑战",
    "和水友互动",
    "发现好去处",
    "逛吃逛吃",
    "治愈系",
    "随便聊聊",
    "听歌聊天",
    "萌新求带",
    "高手过招",
    "欢乐时光",
    "精彩集锦",
    "开箱测评",
    "唱歌跳舞",
    "学习陪伴",
    "晚安电台",
    "早安打卡",
];
const CN_SEPS: &[&str] = &[" ", "｜", "：", "", "-"];
const CN_ENDS: &[&str] = &[
    "！",
    "~",
    "！！",
    "（回归）",
    "～来玩",
    "进来看看",
    "冲冲冲",
];
const EN_PREFIXES: &[&str] = &["[LIVE]", "[EN]", "🔴", "(Rerun)", "[Drops ON]", "!giveaway"];
const EN_ADJS: &[&str] = &[
    "Chill",
    "Late night",
    "Ranked",
    "Casual",
    "Hardcore",
    "Cozy",
    "Competitive",
    "Blind",
    "First time",
    "Sunday",
];
const EN_TOPICS: &[&str] = &[
    "Minecraft",
    "Valorant",
    "League of Legends",
    "Elden Ring",
    "Genshin Impact",
    "Fortnite",
    "Apex Legends",
    "Stardew Valley",
    "Just Chatting",
    "Cooking",
];
const EN_TAILS: &[&str] = &[
    "with viewers",
    "grind",
    "tutorial",
    "speedrun attempts",
    "until I win",
    "and chill",
    "road to Diamond",
    "100% run",
    "with friends",
    "Q&A",
    "challenge",
    "marathon",
];
const CN_NICK_HEADS: &[&str] = &["小", "阿", "大", "老", "", "", "是"];
const CN_NICK_CORES: &[&str] = &[
    "可爱", "星星", "月亮", "猫咪", "熊猫", "橘子", "柠檬", "团子", "奶茶", "豆豆", "鱼丸", "狐狸",
    "兔兔", "糖糖", "七七", "一一", "阳光", "晚风", "清风", "白菜", "南瓜", "桃子", "芒果", "西瓜",
    "饺子", "汤圆", "可乐", "布丁", "云朵", "星河",
];
const CN_NICK_TAILS: &[&str] = &["酱", "君", "哥", "姐", "呀", "同学", "老师", "", "", ""];
const EN_NICK_A: &[&str] = &[
    "Cool", "Shadow", "Lucky", "Pixel", "Night", "Sunny", "Crazy", "Silent", "Happy", "Frost",
];
const EN_NICK_B: &[&str] = &[
    "Gamer", "Wolf", "Fox", "Cat", "Ninja", "Panda", "Rider", "Queen", "King", "Bear",
];

/// Common characters of Chinese names and places: random pairs and triples of them make the
/// long tail of rare grams that real titles and nicks have.
const NAME_CHARS: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲建林颖宇浩凯健俊帆晨阳欣怡佳琪梓涵子轩一诺思雨宁博文昊天鑫然泽瑞嘉豪雪梅春燕海波志成东北南西京沪川渝粤湘鄂豫冀晋辽吉黑苏浙皖闽赣鲁桂琼滇黔藏陕甘青宁新港澳台山河湖江城村镇街路桥园";

fn name(r: &mut Rng, len: usize) -> String {
    let chars: Vec<char> = NAME_CHARS.chars().collect();
    (0..len).map(|_| chars[r.below(chars.len())]).collect()
}

/// The phrase of the selective CJK search: in the titles of 5 rooms per 100 000.
const RARE_PHRASE: &str = "周年庆典";
/// The nick of the selective nick search: 3 anchors per 33 000.
const RARE_NICK: &str = "Moonlit_Otter";

fn anchors(rooms: usize) -> usize {
    (rooms / 3).max(1)
}

fn nick(anchor: usize) -> String {
    if anchor % 11_000 == 5 {
        return RARE_NICK.to_owned();
    }
    let mut r = Rng::new(1_000_003 + anchor as u64);
    if r.chance(60) {
        let core = if r.chance(40) {
            name(&mut r, 2)
        } else {
            r.pick(CN_NICK_CORES).to_owned()
        };
        let mut n = format!("{}{core}{}", r.pick(CN_NICK_HEADS), r.pick(CN_NICK_TAILS));
        if r.chance(30) {
            n.push_str(&r.below(100).to_string());
        }
        n
    } else {
        format!(
            "{}{}{}",
            r.pick(EN_NICK_A),
            r.pick(EN_NICK_B),
            r.below(1000)
        )
    }
}

fn title(room: usize) -> String {
    let mut r = Rng::new(room as u64);
    let mut t = String::new();
    if r.chance(60) {
        if r.chance(30) {
            t.push_str(r.pick(CN_TAGS));
        }
        t.push_str(r.pick(CN_TOPICS));
        t.push_str(r.pick(CN_SEPS));
        if r.chance(25) {
            // a place or a guest: "和李明浩", "在苏州"
            t.push_str(if r.chance(50) { "和" } else { "在" });
            let len = 2 + r.below(2);
            t.push_str(&name(&mut r, len));
        }
        t.push_str(r.pick(CN_ACTIONS));
        if r.chance(20) {
            t.push_str(&format!("第{}期", 1 + r.below(300)));
        }
        if r.chance(40) {
            t.push_str(r.pick(CN_ENDS));
        }
    } else {
        if r.chance(30) {
            t.push_str(r.pick(EN_PREFIXES));
            t.push(' ');
        }
        t.push_str(&format!(
            "{} {} {}",
            r.pick(EN_ADJS),
            r.pick(EN_TOPICS),
            r.pick(EN_TAILS)
        ));
        if r.chance(20) {
            t.push_str(&format!(" day {}", 1 + r.below(500)));
        }
        if r.chance(30) {
            t.push('!');
        }
    }
    if room % 20_000 == 7 {
        t.push_str(RARE_PHRASE);
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Tokens, Redis figures

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sign(secret: &str, sub: &str, nick: &str) -> String {
    let claims = json!({"sub": sub, "nick": nick, "exp": now_secs() + 24 * 3600});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

type Redis = redis::aio::MultiplexedConnection;

async fn info(redis: &mut Redis, section: &str) -> BTreeMap<String, String> {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(redis)
        .await
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Calls per command, from INFO commandstats.
async fn command_calls(redis: &mut Redis) -> BTreeMap<String, u64> {
    info(redis, "commandstats")
        .await
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("cmdstat_")?.to_owned();
            let calls = v
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name, calls))
        })
        .collect()
}

/// Redis's CPU seconds (user + system) so far.
async fn cpu_secs(redis: &mut Redis) -> f64 {
    let cpu = info(redis, "cpu").await;
    let get = |k: &str| {
        cpu.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    get("used_cpu_user") + get("used_cpu_sys")
}

async fn used_memory(redis: &mut Redis) -> u64 {
    let mem = info(redis, "memory").await;
    mem.get("used_memory")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Load

async fn load(args: &Args) -> (Vec<String>, Duration, u64) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.load_concurrency {
        let (next, errors, args) = (next.clone(), errors.clone(), args.clone());
        workers.push(tokio::spawn(async move {
            let mut http = Http::new(&args.addr);
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.rooms {
                    return made;
                }
                if i > 0 && i % 10_000 == 0 {
                    eprintln!("  loaded {i} rooms");
                }
                let anchor = i % anchors(args.rooms);
                let sub = format!("anchor-{anchor}");
                let token = sign(&args.secret, &sub, &nick(anchor));
                let body = json!({"title": title(i), "notice": "欢迎来到直播间"}).to_string();
                let created = http
                    .send("POST", "/client/live/room/instance", &token, Some(&body))
                    .await
                    .ok()
                    .and_then(|r| data_of(&r));
                let Some(id) = created.and_then(|d| d["live_id"].as_str().map(str::to_owned))
                else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                // 20% live, 10% ended, the rest created
                let path = format!("/client/live/room/{id}");
                if i % 10 < 3 {
                    let ok = http
                        .send("PUT", &path, &token, None)
                        .await
                        .ok()
                        .and_then(|r| data_of(&r));
                    if ok.is_none() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if i % 10 == 2 {
                    let ok = http
                        .send("POST", &path, &token, None)
                        .await
                        .map(|r| r.status == 200);
                    if !ok.unwrap_or(false) {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                made.push(id);
            }
        }));
    }
    let mut ids = Vec::new();
    for w in workers {
        ids.extend(w.await.unwrap_or_default());
    }
    (ids, started.elapsed(), errors.load(Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// Measure

struct Outcome {
    hist: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
    total_count: Option<u64>,
    listed: Option<usize>,
}

async fn measure(args: &Args, token: &str, path: &str) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let started = Instant::now();
    for _ in 0..args.concurrency {
        let (next, args, token, path) = (
            next.clone(),
            args.clone(),
            token.to_owned(),
            path.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let mut http = Http::new(&args.addr);
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist");
            let (mut errors, mut total_count, mut listed) = (0u64, None, None);
            while next.fetch_add(1, Ordering::Relaxed) < args.requests {
                let t = Instant::now();
                let answer = http.send("GET", &path, &token, None).await;
                hist.saturating_record(t.elapsed().as_micros() as u64);
                let answer = answer.ok();
                if path == "/healthz" {
                    // the same-run baseline: plain text, no envelope
                    if answer.is_none_or(|r| r.status != 200) {
                        errors += 1;
                    }
                    continue;
                }
                match answer.and_then(|r| data_of(&r)) {
                    Some(d) => {
                        total_count = d["total_count"].as_u64();
                        listed = d["list"].as_array().map(Vec::len);
                    }
                    None => errors += 1,
                }
            }
            (hist, errors, total_count, listed)
        }));
    }
    let mut out = Outcome {
        hist: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist"),
        errors: 0,
        elapsed: Duration::ZERO,
        total_count: None,
        listed: None,
    };
    for w in workers {
        if let Ok((hist, errors, total, listed)) = w.await {
            let _ = out.hist.add(&hist);
            out.errors += errors;
            out.total_count = out.total_count.or(total);
            out.listed = out.listed.or(listed);
        }
    }
    out.elapsed = started.elapsed();
    out
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

async fn wait_ready(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut http = Http::new(addr);
        if let Ok(r) = http.send("GET", "/readyz", "-", None).await
            && r.status == 200
        {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("the service at {addr} is not ready");
            std::process::exit(2);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What an index key is, from its name after `…idx:{rooms}:`.
fn key_kind(name: &str) -> String {
    let Some(rest) = name.strip_prefix("g:") else {
        // the zsets and hashes named in keys.rs
        return name.split(':').next().unwrap_or("").to_owned();
    };
    if rest.starts_with("#all|") || rest.starts_with("#s") && rest.contains('|') {
        return "all/status postings".into();
    }
    if rest.contains('|') {
        return "gram postings, chunked".into();
    }
    match rest.split(':').next().unwrap_or("") {
        "#r" => "gram postings, rare/marker".into(),
        "#m" => "live_id -> number".into(),
        "#d" => "documents".into(),
        "#del" => "tombstones".into(),
        "#seq" => "number counter".into(),
        "#k" => "room cards".into(),
        // the index of an older version: one set of live_ids per gram
        _ => "gram sets (live_ids)".into(),
    }
}

/// MEMORY USAGE summed over the search index keys (the `{rooms}` hash tag), grouped by kind.
async fn index_memory(redis: &mut Redis, prefix: &str) -> BTreeMap<String, (u64, u64)> {
    let tag = format!("{prefix}idx:{{rooms}}:");
    let pattern = format!("{}*", tag.replace('{', "\\{").replace('}', "\\}"));
    let mut cursor: u64 = 0;
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(2000)
            .query_async(redis)
            .await
            .expect("SCAN");
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(0);
                pipe.cmd("OBJECT").arg("ENCODING").arg(k);
            }
            let answers: Vec<redis::Value> = pipe.query_async(redis).await.expect("MEMORY USAGE");
            for (k, pair) in keys.iter().zip(answers.chunks(2)) {
                let bytes = match &pair[0] {
                    redis::Value::Int(n) => *n as u64,
                    _ => 0,
                };
                let encoding = match &pair[1] {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    redis::Value::SimpleString(s) => s.clone(),
                    _ => "?".into(),
                };
                let name = String::from_utf8_lossy(&k[tag.len().min(k.len())..]).into_owned();
                let group = format!("{} ({encoding})", key_kind(&name));
                let e = groups.entry(group).or_default();
                e.0 += 1;
                e.1 += bytes;
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    groups
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let client = redis::Client::open(args.redis.as_str()).expect("redis url");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    wait_ready(&args.addr).await;

    println!("== discovery benchmark: {} rooms ==", args.rooms);
    for i in [0usize, 1, 3, 7, 12] {
        println!(
            "  sample title: {}  (anchor nick: {})",
            title(i),
            nick(i % anchors(args.rooms))
        );
    }
    let mem_before = used_memory(&mut redis).await;
    let cpu_before = cpu_secs(&mut redis).await;
    let calls_before = command_calls(&mut redis).await;
    let (ids, took, errors) = load(&args).await;
    let mem_after = used_memory(&mut redis).await;
    let cpu_after = cpu_secs(&mut redis).await;
    let calls_after = command_calls(&mut redis).await;
    let rooms = ids.len().max(1) as u64;
    let syncs = calls_after.get("evalsha").copied().unwrap_or(0)
        - calls_before.get("evalsha").copied().unwrap_or(0);
    println!(
        "load: {} rooms in {:.1} s ({:.0} rooms/s, {} errors); 20% live, 10% ended; Redis CPU \
         {:.0} µs and {:.1} EVALSHA per room loaded (create, start, stop and their index syncs)",
        ids.len(),
        took.as_secs_f64(),
        ids.len() as f64 / took.as_secs_f64(),
        errors,
        (cpu_after - cpu_before) * 1e6 / rooms as f64,
        syncs as f64 / rooms as f64,
    );

    let groups = index_memory(&mut redis, &args.prefix).await;
    let (mut index_keys, mut index_bytes) = (0u64, 0u64);
    println!("index memory (MEMORY USAGE, SAMPLES 0, over the {{rooms}} keys):");
    for (group, (keys, bytes)) in &groups {
        index_keys += keys;
        index_bytes += bytes;
        println!(
            "  {group:<32} {keys:>8} keys {:>12} bytes {:>8.1} B/room",
            bytes,
            *bytes as f64 / rooms as f64
        );
    }
    println!(
        "  {:<32} {index_keys:>8} keys {index_bytes:>12} bytes {:>8.1} B/room",
        "TOTAL index",
        index_bytes as f64 / rooms as f64
    );
    println!(
        "used_memory delta over the load (rooms + index): {:.1} MiB, {:.0} B/room",
        (mem_after.saturating_sub(mem_before)) as f64 / 1048576.0,
        mem_after.saturating_sub(mem_before) as f64 / rooms as f64
    );

    // The loaded rooms' anchors go quiet: each live room comes due once when its anchor's
    // presence lapses (anchor_offline), then leaves the sweep schedule. Measure once that
    // background work is done (a minute at most), so that a request's figures are its own.
    let due_key = format!("{}idx:{{rooms}}:sweep_due", args.prefix);
    let settle = Instant::now();
    loop {
        let due: u64 = redis::cmd("ZCARD")
            .arg(&due_key)
            .query_async(&mut redis)
            .await
            .unwrap_or(0);
        if due == 0 || settle.elapsed() > Duration::from_secs(60) {
            println!(
                "sweep schedule settled in {:.1} s ({due} rooms still due)",
                settle.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let viewer = sign(&args.secret, "bench-viewer", "viewer");
    let kw = |k: &str| {
        format!(
            "/client/live/room?keyword={}&page_num=1&page_size=20",
            enc(k)
        )
    };
    let scenarios: Vec<(&str, String)> = vec![
        ("/healthz (same-run baseline)", "/healthz".into()),
        (
            "live list, page 1",
            "/client/live/room/list?page_num=1&page_size=20".into(),
        ),
        (
            "live list, deep page",
            format!(
                "/client/live/room/list?page_num={}&page_size=20",
                args.deep_page
            ),
        ),
        ("search selective CJK (周年庆典)", kw(RARE_PHRASE)),
        ("search selective nick (moonlit)", kw("moonlit")),
        ("search selective 2 chars (年庆)", kw("年庆")),
        ("search broad ~10% (王者荣耀)", kw("王者荣耀")),
        ("search broad ~10%, 2 chars (原神)", kw("原神")),
        (
            "search broad, live only (英雄联盟)",
            format!("{}&live_status=1", kw("英雄联盟")),
        ),
        ("search one char (王)", kw("王")),
        (
            "search empty keyword",
            "/client/live/room?page_num=1&page_size=20".into(),
        ),
        (
            "search empty keyword, deep",
            "/client/live/room?page_num=2000&page_size=20".into(),
        ),
    ];
    println!(
        "\nmeasure: one request alone (first), then {} requests per scenario on {} connections; \
         latency in ms; per request: Redis client commands (EVALSHA), commands run inside \
         scripts, Redis CPU (INFO cpu, µs)",
        args.requests, args.concurrency
    );
    println!(
        "{:<38} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "scenario",
        "first",
        "p50",
        "p90",
        "p99",
        "max",
        "req/s",
        "err",
        "matches",
        "evalsha",
        "in-lua",
        "cpu µs"
    );
    for (name, path) in &scenarios {
        // the first request alone: a broad keyword's first search also makes it a phrase
        let t = Instant::now();
        let _ = Http::new(&args.addr).send("GET", path, &viewer, None).await;
        let first = t.elapsed();
        let calls0 = command_calls(&mut redis).await;
        let cpu0 = cpu_secs(&mut redis).await;
        let out = measure(&args, &viewer, path).await;
        let cpu1 = cpu_secs(&mut redis).await;
        let calls1 = command_calls(&mut redis).await;
        let delta =
            |n: &str| calls1.get(n).copied().unwrap_or(0) - calls0.get(n).copied().unwrap_or(0);
        let top = delta("evalsha") + delta("eval") + delta("script|load");
        let all: u64 = calls1.keys().map(|k| delta(k)).sum();
        // the INFO calls of this measurement are not the request's
        let inner = all - top - delta("info");
        let n = args.requests as f64;
        let h = &out.hist;
        println!(
            "{:<38} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>8.0} {:>5} {:>8} {:>8.1} {:>8.1} {:>8.0}",
            name,
            first.as_secs_f64() * 1000.0,
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.90)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            n / out.elapsed.as_secs_f64(),
            out.errors,
            out.total_count
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            top as f64 / n,
            inner as f64 / n,
            (cpu1 - cpu0) * 1e6 / n,
        );
        if out.listed == Some(0) && out.total_count.unwrap_or(0) > 0 {
            println!("    (an empty page: the deep page is past the end)");
        }
    }
    println!(
        "\nround trips: every search and list is one script for the page of ids, then the page's \
         room reads sent together (one EVALSHA each) on the multiplexed connection: two in a row.\n\
         A keyword of 3+ characters is confirmed on each candidate's text; the first search of \
         one with 256+ candidates (unfiltered) also makes it a phrase with postings of its own, \
         so that later searches count instead (\"first\" shows that search)."
    );
}
