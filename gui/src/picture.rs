//! The architecture picture: each server drawn as its mechanism — the listen queue as a row of
//! request dots, each process as a box of threads (or an event loop), requests coloured by class,
//! filled while on a core and hollow while waiting on IO, the GIL holder ringed in gold, a memory
//! bar per process. With many processes it aggregates into a grid of small squares and counts.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Ui, Vec2, pos2, vec2};
use models::engine::ThreadState;
use models::view::{ProcessRole, ProcessView, ServerView, ThreadView};

use crate::theme::{ALERT, class_color, server_color};

/// Gold ring around the thread that holds its process's GIL.
const GIL_GOLD: Color32 = Color32::from_rgb(230, 170, 0);

/// Colours that depend on the theme.
struct Ink {
    text: Color32,
    faint: Color32,
    dead: Color32,
}

impl Ink {
    fn of(ui: &Ui) -> Self {
        let v = ui.visuals();
        Self {
            text: v.text_color(),
            faint: v.weak_text_color(),
            dead: if v.dark_mode { Color32::from_gray(60) } else { Color32::from_gray(215) },
        }
    }
}

/// The key explaining the symbols, drawn once above the pictures.
pub fn legend_ui(ui: &mut Ui) {
    let ink = Ink::of(ui);
    let h = ui.text_style_height(&egui::TextStyle::Body);
    ui.horizontal_wrapped(|ui| {
        let item = |ui: &mut Ui, draw: &dyn Fn(&egui::Painter, Pos2, f32), label: &str| {
            let (rect, _) = ui.allocate_exact_size(vec2(h, h), Sense::hover());
            draw(ui.painter(), rect.center(), h * 0.32);
            ui.label(label);
            ui.add_space(8.0);
        };
        let c = class_color(0);
        item(
            ui,
            &|p, at, r| {
                p.circle_filled(at, r, c);
            },
            "on a CPU core",
        );
        item(
            ui,
            &|p, at, r| {
                p.circle_stroke(at, r, Stroke::new(2.0, c));
            },
            "waiting on IO",
        );
        item(
            ui,
            &|p, at, r| {
                dashed_ring(p, at, r, Stroke::new(1.5, ink.faint));
                p.circle_filled(at, r * 0.45, c);
            },
            "waiting for the GIL",
        );
        item(
            ui,
            &|p, at, r| {
                p.circle_filled(at, r, c);
                p.circle_stroke(at, r + 2.5, Stroke::new(2.0, GIL_GOLD));
            },
            "holds the GIL",
        );
        item(
            ui,
            &|p, at, r| {
                p.circle_stroke(at, r, Stroke::new(1.0, ink.faint));
            },
            "idle thread",
        );
        item(ui, &|p, at, r| diamond(p, at, r, Stroke::new(2.0, c)), "talking to a slow client");
        item(ui, &|p, at, r| keepalive_glyph(p, at, r, &ink), "held by an idle keep-alive connection");
    });
}

/// Red that pulses twice a second (wall-clock time), for crashed processes.
fn crash_flash(ctx: &egui::Context) -> Color32 {
    let t = ctx.input(|i| i.time);
    let pulse = 0.5 + 0.5 * (t * std::f64::consts::TAU * 2.0).sin() as f32;
    ctx.request_repaint();
    ALERT.gamma_multiply(0.35 + 0.5 * pulse)
}

/// A grey diamond with a dot: a thread waiting on an idle keep-alive connection.
fn keepalive_glyph(p: &egui::Painter, at: Pos2, r: f32, ink: &Ink) {
    diamond(p, at, r * 0.85, Stroke::new(1.5, ink.faint));
    p.circle_filled(at, r * 0.25, ink.faint);
}

/// A diamond outline: a thread reading from or writing to a (slow) client.
fn diamond(p: &egui::Painter, at: Pos2, r: f32, stroke: Stroke) {
    let pts = [at + vec2(0.0, -r), at + vec2(r, 0.0), at + vec2(0.0, r), at + vec2(-r, 0.0)];
    for i in 0..4 {
        p.line_segment([pts[i], pts[(i + 1) % 4]], stroke);
    }
}

fn dashed_ring(p: &egui::Painter, center: Pos2, r: f32, stroke: Stroke) {
    let n = 10;
    for i in 0..n {
        let a0 = i as f32 / n as f32 * std::f32::consts::TAU;
        let a1 = a0 + std::f32::consts::TAU / n as f32 * 0.55;
        let pt = |a: f32| center + r * Vec2::angled(a);
        p.line_segment([pt(a0), pt(a1)], stroke);
    }
}

/// What a request dot shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DotKind {
    /// Waiting in the listen queue.
    Queued,
    /// On a thread, in this state.
    On(ThreadState),
}

/// Where a request's dot belongs this frame.
#[derive(Debug, Clone, Copy)]
struct DotTarget {
    id: u64,
    at: Pos2,
    r: f32,
    kind: DotKind,
    color: Color32,
}

/// A request that left the picture (answered, refused, lost, or parked off its thread): its dot
/// drifts off and fades.
#[derive(Debug, Clone, Copy)]
struct Leaving {
    from: Pos2,
    since: f64,
    color: Color32,
    r: f32,
}

/// How long a leaving dot stays visible, seconds of wall-clock time.
const LEAVE_S: f64 = 0.25;
/// Time constant of a dot's glide to its new place, seconds.
const GLIDE_S: f64 = 0.035;

/// Positions of request dots between frames, so requests move from the queue to a thread and
/// out instead of jumping.
#[derive(Debug, Default)]
pub struct Motion {
    pos: std::collections::HashMap<u64, (Pos2, Color32, f32)>,
    leaving: Vec<Leaving>,
    last_time: Option<f64>,
    /// The card's rectangle last frame: when the layout changes (zoom, resize) dots snap.
    last_rect: Option<Rect>,
}

impl Motion {
    /// Draw every dot eased towards its target; dots that vanished start leaving. Returns true
    /// while anything is still moving.
    fn draw(&mut self, p: &egui::Painter, targets: &[DotTarget], now: f64, entry: Pos2, ink: &Ink) -> bool {
        let dt = self.last_time.map_or(0.0, |t| (now - t).clamp(0.0, 0.25));
        self.last_time = Some(now);
        let rect = p.clip_rect();
        if self.last_rect != Some(rect) {
            // The layout moved: positions from the old layout mean nothing here.
            self.last_rect = Some(rect);
            self.pos.clear();
            self.leaving.clear();
            for t in targets {
                draw_dot(p, t.at, t.r, t.kind, t.color, ink);
                self.pos.insert(t.id, (t.at, t.color, t.r));
            }
            return false;
        }
        let k = (1.0 - (-dt / GLIDE_S).exp()) as f32;
        let mut next = std::collections::HashMap::with_capacity(targets.len());
        let mut moving = false;
        for t in targets {
            let cur = self.pos.remove(&t.id).map_or(entry, |v| v.0);
            let mut at = cur + (t.at - cur) * k;
            if (at - t.at).length() < 0.5 {
                at = t.at;
            } else {
                moving = true;
            }
            draw_dot(p, at, t.r, t.kind, t.color, ink);
            next.insert(t.id, (at, t.color, t.r));
        }
        for (_, (from, color, r)) in self.pos.drain() {
            if self.leaving.len() < 100 {
                self.leaving.push(Leaving { from, since: now, color, r: (r * 0.5).min(4.0) });
            }
        }
        self.pos = next;
        self.leaving.retain(|l| now - l.since < LEAVE_S);
        for l in &self.leaving {
            let age = ((now - l.since) / LEAVE_S) as f32;
            let at = l.from + vec2(24.0 * age, -6.0 * age);
            p.circle_filled(at, l.r, l.color.gamma_multiply(0.8 * (1.0 - age)));
        }
        moving || !self.leaving.is_empty()
    }
}

fn draw_dot(p: &egui::Painter, at: Pos2, r: f32, kind: DotKind, c: Color32, ink: &Ink) {
    match kind {
        DotKind::Queued | DotKind::On(ThreadState::Cpu) => {
            p.circle_filled(at, r, c);
        }
        DotKind::On(ThreadState::Io) => {
            p.circle_stroke(at, r * 0.9, Stroke::new((r * 0.35).max(1.5), c));
        }
        DotKind::On(ThreadState::GilWait) => {
            dashed_ring(p, at, r, Stroke::new(1.5, ink.faint));
            p.circle_filled(at, r * 0.45, c);
        }
        DotKind::On(ThreadState::Net) => diamond(p, at, r, Stroke::new((r * 0.3).max(1.5), c)),
        DotKind::On(ThreadState::Idle | ThreadState::KeepAlive) => {}
    }
}

/// Draw a thread's slot (and its GIL ring) and record where its request's dot belongs.
fn thread_glyph(
    p: &egui::Painter,
    at: Pos2,
    r: f32,
    t: &ThreadView,
    holder: bool,
    ink: &Ink,
    dots: &mut Vec<DotTarget>,
) {
    if t.retired && t.state == ThreadState::Idle {
        return;
    }
    p.circle_stroke(at, r, Stroke::new(1.0, ink.faint.gamma_multiply(0.6)));
    if t.state == ThreadState::KeepAlive {
        keepalive_glyph(p, at, r, ink);
    }
    if let (Some(id), Some(class)) = (t.request_id, t.class) {
        dots.push(DotTarget { id, at, r, kind: DotKind::On(t.state), color: class_color(class) });
    }
    if holder {
        p.circle_stroke(at, r + 2.5, Stroke::new(2.0, GIL_GOLD));
    }
}

/// Draw server `index`'s picture into a card of the given size.
pub fn architecture_picture_ui(
    ui: &mut Ui,
    index: usize,
    name: &str,
    architecture: &str,
    view: &ServerView,
    size: Vec2,
    motion: &mut Motion,
) {
    let ink = Ink::of(ui);
    let color = server_color(index);
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let p = ui.painter_at(rect);
    p.rect_stroke(rect.shrink(1.0), 6.0, Stroke::new(2.0, color), StrokeKind::Inside);
    let body = ui.text_style_height(&egui::TextStyle::Body);
    let small = FontId::proportional(body * 0.8);
    let mut y = rect.top() + 6.0;
    let title = p.text(pos2(rect.left() + 8.0, y), Align2::LEFT_TOP, name, FontId::proportional(body * 1.05), color);
    let tag = p.layout_no_wrap(architecture.to_string(), small.clone(), ink.faint);
    if title.right() + tag.size().x + 16.0 < rect.right() {
        p.galley(pos2(rect.right() - 8.0 - tag.size().x, y + 2.0), tag, ink.faint);
    }
    y += body * 1.35;

    // The listen queue: a row of request dots, then a count for the rest.
    let r = (body * 0.28).clamp(3.0, 7.0);
    let label = format!("queue {}", view.waiting_total);
    let label_rect = p.text(pos2(rect.left() + 8.0, y), Align2::LEFT_TOP, label, small.clone(), ink.text);
    let mut x = label_rect.right() + r + 6.0;
    let cy = label_rect.center().y;
    // New requests enter from the left edge of the queue row.
    let entry = pos2(rect.left() + 4.0, cy);
    let room = ((rect.right() - 30.0 - x) / (2.0 * r + 2.0)).max(0.0) as usize;
    let mut dots = Vec::new();
    for (&c, &id) in view.waiting.iter().zip(&view.waiting_ids).take(room) {
        dots.push(DotTarget { id, at: pos2(x, cy), r, kind: DotKind::Queued, color: class_color(c) });
        x += 2.0 * r + 2.0;
    }
    let shown = view.waiting.len().min(room);
    if view.waiting_total > shown && shown > 0 {
        p.text(pos2(x, cy), Align2::LEFT_CENTER, format!("+{}", view.waiting_total - shown), small.clone(), ink.text);
    }
    y = label_rect.bottom() + 6.0;

    let area = Rect::from_min_max(pos2(rect.left() + 6.0, y), pos2(rect.right() - 6.0, rect.bottom() - 6.0));
    if !processes_ui(&p, area, view, &ink, &small, color, &mut dots) {
        aggregate_ui(&p, area, view, &ink, &small, color);
    }
    let now = ui.input(|i| i.time);
    if motion.draw(&p, &dots, now, entry, &ink) {
        ui.ctx().request_repaint();
    }
}

/// Box per process. Returns false (drawing nothing) if the boxes would be too small to read.
fn processes_ui(
    p: &egui::Painter,
    area: Rect,
    view: &ServerView,
    ink: &Ink,
    font: &FontId,
    color: Color32,
    dots: &mut Vec<DotTarget>,
) -> bool {
    let n = view.processes.len().max(1);
    let max_threads = view.processes.iter().map(|pr| pr.threads.len()).max().unwrap_or(1).max(1);
    let max_mem = view.processes.iter().map(|pr| pr.memory_mb).fold(0.0f64, f64::max);
    // Choose the column count that gives the largest thread glyphs.
    let mut best: Option<(usize, f32, Vec2)> = None;
    for cols in 1..=n {
        let rows = n.div_ceil(cols);
        let bw = (area.width() - 4.0 * (cols - 1) as f32) / cols as f32;
        let bh = (area.height() - 4.0 * (rows - 1) as f32) / rows as f32;
        // Inside a box: a header line, then a grid of thread cells.
        let header = font.size + 8.0;
        let inner = vec2(bw - 6.0, bh - header - 4.0);
        if inner.x <= 0.0 || inner.y <= 0.0 {
            continue;
        }
        let tcols = ((max_threads as f32 * inner.x / inner.y).sqrt().ceil() as usize).clamp(1, max_threads);
        let trows = max_threads.div_ceil(tcols);
        let cell = (inner.x / tcols as f32).min(inner.y / trows as f32);
        if best.is_none_or(|b| cell > b.1) {
            best = Some((cols, cell, vec2(bw, bh)));
        }
    }
    let Some((cols, cell, box_size)) = best else { return false };
    if cell < 7.0 || box_size.x < 36.0 {
        return false;
    }
    let r = (cell * 0.36).min(12.0);
    for (i, pr) in view.processes.iter().enumerate() {
        let (col, row) = (i % cols, i / cols);
        let min = area.min + vec2(col as f32 * (box_size.x + 4.0), row as f32 * (box_size.y + 4.0));
        let b = Rect::from_min_size(min, box_size);
        process_box(p, b, pr, r, cell, max_mem, ink, font, color, dots);
    }
    true
}

#[allow(clippy::too_many_arguments)]
fn process_box(
    p: &egui::Painter,
    b: Rect,
    pr: &ProcessView,
    r: f32,
    cell: f32,
    max_mem: f64,
    ink: &Ink,
    font: &FontId,
    color: Color32,
    dots: &mut Vec<DotTarget>,
) {
    // Nothing drawn for a process may spill into its neighbours.
    let p = &p.with_clip_rect(b.intersect(p.clip_rect()));
    let stroke = if !pr.alive {
        Stroke::new(1.0, ink.dead)
    } else if pr.retiring {
        Stroke::new(1.0, ink.faint)
    } else {
        Stroke::new(1.5, color.gamma_multiply(0.8))
    };
    let fill = if pr.down {
        // Crashed: flashes red until it respawns.
        crash_flash(p.ctx())
    } else if pr.alive {
        Color32::TRANSPARENT
    } else {
        ink.dead.gamma_multiply(0.5)
    };
    let stroke = if pr.down { Stroke::new(2.0, ALERT) } else { stroke };
    p.rect(b, 4.0, fill, stroke, StrokeKind::Inside);
    // Header: role tag and memory bar.
    let tag = match pr.role {
        ProcessRole::Worker => "",
        ProcessRole::EventLoop => "loop",
        ProcessRole::FrontEnd => "front-end",
        ProcessRole::Cgi if !pr.alive => "(no process)",
        ProcessRole::Cgi => "cgi",
    };
    let top = b.top() + 4.0;
    let bar = Rect::from_min_size(pos2(b.left() + 4.0, top), vec2((b.width() - 8.0).max(0.0), 4.0));
    if pr.alive && max_mem > 0.0 {
        p.rect_filled(bar, 1.0, ink.dead);
        let w = bar.width() * (pr.memory_mb / max_mem) as f32;
        p.rect_filled(Rect::from_min_size(bar.min, vec2(w, bar.height())), 1.0, color.gamma_multiply(0.7));
    }
    let mut header = if pr.alive && max_mem > 0.0 { format!("{:.0} MB", pr.memory_mb) } else { String::new() };
    if !header.is_empty() && pr.rss_mb - pr.memory_mb >= 0.5 && b.width() >= 120.0 {
        // Its own memory, then its RSS as `ps` shows it (with the shared pages).
        header.push_str(&format!(" · ps {:.0}", pr.rss_mb));
    }
    if pr.role == ProcessRole::EventLoop || pr.role == ProcessRole::FrontEnd {
        header = format!("{tag} · ready {} · parked {}", pr.ready, pr.parked);
    } else if !tag.is_empty() && !pr.alive {
        header = tag.to_string();
    }
    if pr.retiring {
        header.push_str(" · retiring");
    }
    if pr.down {
        header = "CRASHED · respawning".to_string();
    }
    p.text(pos2(b.left() + 4.0, top + 6.0), Align2::LEFT_TOP, header, font.clone(), ink.faint);
    // Threads in a grid.
    let inner_top = top + font.size + 8.0;
    let tcols = (((b.width() - 6.0) / cell).floor() as usize).max(1);
    for (i, t) in pr.threads.iter().enumerate() {
        let (c, rr) = (i % tcols, i / tcols);
        let at = pos2(b.left() + 3.0 + cell * (c as f32 + 0.5), inner_top + cell * (rr as f32 + 0.5));
        if at.y + r > b.bottom() {
            break;
        }
        thread_glyph(p, at, r, t, pr.gil_holder == Some(i), ink, dots);
    }
}

/// Many processes: one small square each (filled = busy on CPU, tinted = busy on IO, outline =
/// idle, grey = not running) and a count line.
fn aggregate_ui(p: &egui::Painter, area: Rect, view: &ServerView, ink: &Ink, font: &FontId, color: Color32) {
    let n = view.processes.len().max(1);
    let text_h = font.size + 6.0;
    let grid = Rect::from_min_max(area.min, pos2(area.max.x, area.max.y - text_h));
    let side = ((grid.width() * grid.height() / n as f32).sqrt()).max(3.0);
    let cols = ((grid.width() / side).floor() as usize).max(1);
    let side = (grid.width() / cols as f32).min(side);
    let (mut cpu, mut io, mut busy_procs, mut alive) = (0, 0, 0, 0);
    for (i, pr) in view.processes.iter().enumerate() {
        let on_cpu = pr.threads.iter().filter(|t| t.state == ThreadState::Cpu).count();
        let waiting = pr
            .threads
            .iter()
            .filter(|t| {
                matches!(t.state, ThreadState::Io | ThreadState::GilWait | ThreadState::Net | ThreadState::KeepAlive)
            })
            .count();
        cpu += on_cpu;
        io += waiting;
        alive += usize::from(pr.alive);
        busy_procs += usize::from(on_cpu + waiting > 0);
        let cell =
            Rect::from_min_size(grid.min + vec2((i % cols) as f32 * side, (i / cols) as f32 * side), Vec2::splat(side))
                .shrink(1.0);
        if cell.bottom() > grid.bottom() {
            // No room to draw it, but it still counts in the line below.
            continue;
        }
        if pr.down {
            p.rect_filled(cell, 1.0, crash_flash(p.ctx()));
        } else if !pr.alive {
            p.rect_filled(cell, 1.0, ink.dead);
        } else if on_cpu > 0 {
            p.rect_filled(cell, 1.0, color);
        } else if waiting > 0 {
            p.rect_filled(cell, 1.0, color.gamma_multiply(0.4));
        } else {
            p.rect_stroke(cell, 1.0, Stroke::new(1.0, ink.faint), StrokeKind::Inside);
        }
    }
    p.text(
        pos2(area.left() + 2.0, area.bottom() - 2.0),
        Align2::LEFT_BOTTOM,
        format!(
            "{} processes ({alive} running): {busy_procs} busy · {cpu} threads on CPU · {io} waiting",
            view.processes.len()
        ),
        font.clone(),
        ink.text,
    );
}
