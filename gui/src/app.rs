//! The app: saved settings (what the user chose, persisted by eframe) kept apart from runtime
//! state (the live simulation). Controls take `&mut self`; plots and pictures read the runtime.

use web_time::Instant;

use egui::{Key, RichText, Ui, ViewportCommand};
use models::architectures::REGISTRY;
use models::config::{ArchitectureKind, Arrival};
use models::scenario::{self, presets};

use crate::picture::{architecture_picture_ui, legend_ui};
use crate::plots::plots_ui;
use crate::runtime::{Runtime, SPEEDS};
use crate::table::summary_table_ui;
use crate::theme;

/// What the user chose, saved between runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Large fonts, thick lines, minimal chrome.
    pub presenter: bool,
    /// Dark theme (otherwise light).
    pub dark: bool,
    /// Index into the speed list.
    pub speed: usize,
    /// The scenario in use, as TOML (None = the built-in default).
    pub scenario_toml: Option<String>,
    /// Which view fills the window.
    pub view: View,
    /// The learner's progress through the course (answers, steps reached, lessons done).
    pub lessons: lessons::progress::Progress,
    /// The lesson open in the Lessons view (its file name), if any.
    pub open_lesson: Option<String>,
}

/// The views of the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum View {
    /// Live plots, architecture pictures and the table.
    #[default]
    Live,
    /// Latency distribution per server.
    Latency,
    /// Throughput and latency versus offered load.
    Sweep,
    /// The course: a lesson's steps beside the live simulation.
    Lessons,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            presenter: false,
            dark: true,
            speed: 3,
            scenario_toml: None,
            view: View::Live,
            lessons: Default::default(),
            open_lesson: None,
        }
    }
}

/// What "Add server" will add.
#[derive(Debug, Clone, PartialEq)]
enum AddChoice {
    Architecture(ArchitectureKind),
    Preset(&'static str),
}

/// The serversim window.
pub struct ServersimApp {
    /// Saved settings.
    pub settings: Settings,
    /// Live state.
    pub rt: Runtime,
    show_help: bool,
    /// A message for the error panel (bad file, bad preset), if any.
    pub error: Option<String>,
    add_choice: AddChoice,
    applied_look: Option<(bool, bool)>,
    /// Servers hidden from the plots by clicking the shared legend (by name).
    pub hidden: std::collections::HashSet<String>,
    /// The load sweep, running or finished.
    pub sweep: Option<crate::sweep::Sweep>,
    /// Request dots' positions per server, for the pictures' animation.
    motion: Vec<crate::picture::Motion>,
    /// The Lessons view's runtime state: the course, the open lesson and its runs.
    pub lessons: crate::lesson_view::LessonsRuntime,
    /// Scenario files read (picked or dropped), waiting to be opened.
    inbox: crate::files::Inbox,
    /// The page's URL fragment last acted on (`#lesson=3`), in the browser.
    pub link_seen: Option<String>,
    /// Whether the first frame has been drawn (the page reports when).
    first_frame_done: bool,
}

/// Wall-clock time per frame given to background work (a lesson's runs, a sweep) where it runs
/// in the frames rather than on threads — the web page.
pub const BACKGROUND_BUDGET: std::time::Duration = std::time::Duration::from_millis(12);

impl Default for ServersimApp {
    fn default() -> Self {
        Self::new(Settings::default())
    }
}

impl ServersimApp {
    /// Start with `settings`: its scenario (or the default one if it is missing or invalid),
    /// already playing.
    pub fn new(settings: Settings) -> Self {
        let mut error = None;
        let scenario = match &settings.scenario_toml {
            Some(text) => scenario::parse(text, "<saved scenario>").unwrap_or_else(|e| {
                error = Some(format!("The saved scenario is no longer valid; showing the default.\n{e}"));
                scenario::default_scenario()
            }),
            None => scenario::default_scenario(),
        };
        let rt = Runtime::new(scenario, true, settings.speed);
        let mut app = Self {
            settings,
            rt,
            show_help: false,
            error,
            add_choice: AddChoice::Architecture(REGISTRY[0].kind),
            applied_look: None,
            hidden: Default::default(),
            sweep: None,
            motion: Vec::new(),
            lessons: Default::default(),
            inbox: Default::default(),
            link_seen: None,
            first_frame_done: false,
        };
        // Back where the learner was: the open lesson at its saved step.
        if let Some(key) = app.settings.open_lesson.clone() {
            match app.lessons.course.iter().position(|l| l.as_ref().is_ok_and(|l| l.key() == key)) {
                Some(i) => app.open_lesson(i),
                None => app.settings.open_lesson = None,
            }
        }
        app
    }

    /// Open lesson `index` of the course at the step the learner reached, and load the live
    /// view with that step's scenario.
    pub fn open_lesson(&mut self, index: usize) {
        let Some(Ok(lesson)) = self.lessons.course.get(index) else { return };
        let key = lesson.key().to_string();
        let step = self.settings.lessons.of(&key).step;
        self.lessons.open = Some(crate::lesson_view::OpenLesson::new(index, lesson.clone(), step));
        self.settings.open_lesson = Some(key);
        self.settings.view = View::Lessons;
        self.goto_step(step);
        crate::files::console(&format!("serversim: opened lesson {} at step {}", index + 1, step + 1));
    }

    /// Go to step `step` of the open lesson: progress is saved, and the live view runs the
    /// scenario of the latest run step at or before it.
    pub fn goto_step(&mut self, step: usize) {
        let Some(open) = &mut self.lessons.open else { return };
        let n = open.lesson.steps.len();
        open.step = step.min(n.saturating_sub(1));
        let entry = self.settings.lessons.entry(open.lesson.key());
        entry.step = open.step;
        entry.done |= open.step + 1 == n;
        let want = open.lesson.live_run(open.step);
        if want.is_some() && open.loaded.as_ref().map(|l| l.0) != want {
            self.load_lesson_run();
        }
    }

    /// Load the live view with the open lesson's current run scenario (again).
    pub fn load_lesson_run(&mut self) {
        let Some(open) = &mut self.lessons.open else { return };
        let Some(r) = open.lesson.live_run(open.step) else { return };
        self.rt = Runtime::new(open.lesson.runs[r].scenario.clone(), true, self.rt.speed);
        open.loaded = Some((r, scenario::to_toml(&self.rt.current_scenario())));
        self.hidden.clear();
        self.motion.clear();
        self.error = None;
    }

    /// The live view no longer runs the open lesson's step scenario (the learner changed it).
    pub fn lesson_drifted(&self) -> bool {
        self.lessons
            .open
            .as_ref()
            .and_then(|o| o.loaded.as_ref())
            .is_some_and(|(_, toml)| *toml != scenario::to_toml(&self.rt.current_scenario()))
    }

    fn lesson_action(&mut self, action: crate::lesson_view::LessonAction) {
        use crate::lesson_view::LessonAction;
        match action {
            LessonAction::Open(i) => self.open_lesson(i),
            LessonAction::Goto(s) => self.goto_step(s),
            LessonAction::Reload => self.load_lesson_run(),
            LessonAction::Close => {
                self.lessons.open = None;
                self.settings.open_lesson = None;
            }
        }
    }

    fn lessons_panel_ui(&mut self, ui: &mut Ui) {
        let drifted = self.lesson_drifted();
        let action = if self.lessons.open.is_some() {
            self.lessons.step_ui(ui, &mut self.settings.lessons, self.settings.presenter, drifted)
        } else {
            self.lessons.list_ui(ui, &self.settings.lessons)
        };
        if let Some(a) = action {
            self.lesson_action(a);
        }
    }
}

/// Events of background work between two looks at the clock.
const BACKGROUND_SLICE_EVENTS: u64 = 20_000;

impl ServersimApp {
    /// Restore saved settings from eframe's storage.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>) -> Self {
        let settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
        Self::new(settings)
    }

    /// The whole window.
    pub fn ui(&mut self, ui: &mut Ui) {
        let look = (self.settings.presenter, self.settings.dark);
        if self.applied_look != Some(look) {
            if self.applied_look.is_none() {
                theme::install_fonts(ui.ctx());
            }
            theme::apply(ui.ctx(), look.0, look.1);
            self.applied_look = Some(look);
        }
        self.shortcuts(ui);
        if self.lessons.blank && self.settings.view == View::Lessons {
            // A speaker's blank screen (B): nothing but black until B again.
            egui::CentralPanel::default().frame(egui::Frame::new().fill(egui::Color32::BLACK)).show(ui, |_| {});
            return;
        }
        self.dropped_files(ui);
        self.background(ui);
        self.rt.tick(Instant::now());
        if self.rt.playing {
            ui.ctx().request_repaint();
        }
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar_ui(ui));
        if self.settings.view == View::Lessons {
            let width = ui.available_width() * if self.settings.presenter { 0.34 } else { 0.3 };
            // At most half the window: the simulation stays the larger part, on stage too.
            let max = ui.available_width() * 0.5;
            egui::Panel::right("lesson")
                .resizable(true)
                .default_size(width)
                .max_size(max)
                .show(ui, |ui| self.lessons_panel_ui(ui));
        }
        if !self.settings.presenter {
            egui::Panel::left("controls").resizable(true).default_size(290.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls_ui(ui));
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(e) = self.error.clone() {
                self.error_panel_ui(ui, &e);
            }
            match self.settings.view {
                View::Live | View::Lessons => {
                    egui::ScrollArea::vertical().show(ui, |ui| self.main_view_ui(ui));
                }
                View::Latency => crate::views::latency_view_ui(ui, &self.rt, self.settings.presenter),
                View::Sweep => {
                    crate::views::sweep_view_ui(ui, &mut self.sweep, &self.rt, self.settings.presenter, &mut self.error)
                }
            }
        });
        if self.show_help {
            self.help_ui(ui);
        }
    }

    /// Load scenario text (from a dropped or opened file): on success the new scenario starts
    /// playing from time zero and is remembered; on failure the error panel names the file, line
    /// and field, and the current simulation keeps running.
    pub fn open_scenario_text(&mut self, text: &str, file: &str) {
        match scenario::parse(text, file) {
            Ok(sc) => {
                self.rt = Runtime::new(sc, true, self.rt.speed);
                self.settings.scenario_toml = Some(text.to_string());
                self.hidden.clear();
                self.motion.clear();
                self.error = None;
                crate::files::console(&format!("serversim: opened scenario {file}"));
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Back to the built-in default scenario.
    pub fn open_default(&mut self) {
        self.rt = Runtime::new(scenario::default_scenario(), true, self.rt.speed);
        self.settings.scenario_toml = None;
        self.hidden.clear();
        self.motion.clear();
        self.error = None;
    }

    /// Files dropped on the window are read (in the browser, asynchronously); every file that
    /// has arrived is opened.
    fn dropped_files(&mut self, ui: &mut Ui) {
        let dropped = ui.input(|i| i.raw.dropped_files.clone());
        if !dropped.is_empty() {
            crate::files::read_dropped(dropped, &self.inbox);
        }
        for (name, text) in self.inbox.take() {
            match text {
                Ok(text) => self.open_scenario_text(&text, &name),
                Err(e) => self.error = Some(format!("cannot read {name}: {e}")),
            }
        }
    }

    /// Open what a link names (`#lesson=3`, `#scenario=slow-reader-dos`; see `crate::link`),
    /// or say in the error panel why it cannot.
    pub fn open_link(&mut self, fragment: &str) {
        match crate::link::parse(fragment) {
            Ok(None) => {}
            Ok(Some(crate::link::Link::Lesson(i))) => self.open_lesson(i),
            Ok(Some(crate::link::Link::Scenario(name))) => {
                if let Some((_, text)) = scenario::EXAMPLES.iter().find(|(n, _)| *n == name) {
                    self.open_scenario_text(text, &format!("{name}.toml"));
                    self.settings.view = View::Live;
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Advance background work that runs in the frames (where there are no threads) within
    /// `BACKGROUND_BUDGET`, and keep frames coming while there is some.
    fn background(&mut self, ui: &Ui) {
        let start = Instant::now();
        let mut busy = false;
        while start.elapsed() < BACKGROUND_BUDGET {
            let lesson = self.lessons.open.as_mut().is_some_and(|o| o.advance(BACKGROUND_SLICE_EVENTS));
            let sweep = self.sweep.as_mut().is_some_and(|s| s.advance(BACKGROUND_SLICE_EVENTS));
            if !(lesson || sweep) {
                break;
            }
            busy = true;
        }
        if busy {
            ui.ctx().request_repaint();
        }
    }

    fn shortcuts(&mut self, ui: &mut Ui) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ui.input(|i| i.key_pressed(k));
        // In a lesson, Page Down / Page Up (what presentation clickers send) move between
        // steps; in presenter mode the arrow keys do too, and B blanks the screen.
        if self.settings.view == View::Lessons && self.lessons.open.is_some() {
            let scenes = self.settings.presenter;
            let step = self.lessons.open.as_ref().map_or(0, |o| o.step);
            if pressed(Key::PageDown) || scenes && (pressed(Key::ArrowRight) || pressed(Key::ArrowDown)) {
                self.goto_step(step + 1);
            }
            if pressed(Key::PageUp) || scenes && (pressed(Key::ArrowLeft) || pressed(Key::ArrowUp)) {
                self.goto_step(step.saturating_sub(1));
            }
            if pressed(Key::B) {
                self.lessons.blank = !self.lessons.blank;
            }
            if scenes {
                if pressed(Key::P) {
                    self.settings.presenter = false;
                }
                return;
            }
        }
        if pressed(Key::Space) {
            self.rt.playing = !self.rt.playing;
        }
        if pressed(Key::ArrowRight) {
            self.set_speed(self.rt.speed + 1);
        }
        if pressed(Key::ArrowLeft) {
            self.set_speed(self.rt.speed.saturating_sub(1));
        }
        if pressed(Key::ArrowUp) {
            self.rt.set_rate((self.rt.rate_rps * 1.1).max(1.0));
        }
        if pressed(Key::ArrowDown) {
            self.rt.set_rate(self.rt.rate_rps / 1.1);
        }
        if pressed(Key::R) {
            self.rt.reset();
            self.motion.clear();
        }
        if pressed(Key::P) {
            self.settings.presenter = !self.settings.presenter;
        }
        if pressed(Key::T) {
            self.settings.dark = !self.settings.dark;
        }
        if pressed(Key::F) {
            let full = ui.input(|i| i.viewport().fullscreen.unwrap_or(false));
            ui.ctx().send_viewport_cmd(ViewportCommand::Fullscreen(!full));
        }
        if pressed(Key::L) {
            self.settings.view = View::Lessons;
        }
        for (key, view) in
            [(Key::Num1, View::Live), (Key::Num2, View::Latency), (Key::Num3, View::Sweep), (Key::Num4, View::Lessons)]
        {
            if pressed(key) {
                self.settings.view = view;
            }
        }
        if pressed(Key::H) || pressed(Key::Questionmark) {
            self.show_help = !self.show_help;
        }
        if pressed(Key::Escape) {
            self.show_help = false;
        }
    }

    fn set_speed(&mut self, speed: usize) {
        self.rt.speed = speed.min(SPEEDS.len() - 1);
        self.settings.speed = self.rt.speed;
    }

    fn speed_label(speed: f64) -> String {
        if speed.is_finite() { format!("{speed}×") } else { "max".to_string() }
    }

    fn toolbar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            // Presenter mode keeps only what a speaker touches; the rest is on the keyboard (H).
            let full = !self.settings.presenter;
            ui.heading(RichText::new("serversim").strong());
            ui.separator();
            if full {
                ui.menu_button("File", |ui| self.file_menu_ui(ui));
            }
            let play = if self.rt.playing { "Pause" } else { "Play" };
            if ui.button(play).on_hover_text("Space").clicked() {
                self.rt.playing = !self.rt.playing;
            }
            if full && ui.button("Step").on_hover_text("Advance one simulated second").clicked() {
                self.rt.playing = false;
                self.rt.step();
            }
            if ui.button("Reset").on_hover_text("R").clicked() {
                self.rt.reset();
                self.motion.clear();
            }
            ui.separator();
            let mut speed = self.rt.speed;
            egui::ComboBox::new("speed", "Speed").selected_text(Self::speed_label(SPEEDS[speed])).show_ui(ui, |ui| {
                for (i, s) in SPEEDS.iter().enumerate() {
                    ui.selectable_value(&mut speed, i, Self::speed_label(*s));
                }
            });
            if speed != self.rt.speed {
                self.set_speed(speed);
            }
            ui.label(RichText::new(format!("t = {:.1} s", self.rt.now_s())).monospace().strong());
            if let Some(f) = self.rt.run.catch_up_fraction() {
                ui.label(RichText::new(format!("new server catching up: {:.0} %", 100.0 * f)).color(ui.visuals().warn_fg_color))
                    .on_hover_text("A server added while the others ran replays the same traffic from time zero, in part of each frame.");
            }
            ui.separator();
            let mut rate = self.rt.rate_rps;
            let max_rate = (self.rt.scenario.load.rate_rps * 10.0).max(100.0);
            let slider = egui::Slider::new(&mut rate, 0.0..=max_rate)
                .logarithmic(true)
                .max_decimals(1)
                .suffix(" req/s")
                .text("Arrival rate");
            // Closed loads and replayed logs have no rate to set.
            let open = matches!(self.rt.scenario.load.arrival, Arrival::Poisson | Arrival::Uniform);
            let response = ui
                .add_enabled(open, slider)
                .on_disabled_hover_text("This load has no arrival rate: it is a closed load or a replayed access log");
            if response.changed() {
                self.rt.set_rate(rate);
            }
            ui.separator();
            if full {
                for (view, label) in [
                    (View::Live, "Live"),
                    (View::Latency, "Latency"),
                    (View::Sweep, "Load sweep"),
                    (View::Lessons, "Lessons"),
                ] {
                    if ui.selectable_label(self.settings.view == view, label).clicked() {
                        self.settings.view = view;
                    }
                }
                ui.separator();
            }
            if ui.selectable_label(self.settings.presenter, "Presenter").on_hover_text("P").clicked() {
                self.settings.presenter = !self.settings.presenter;
            }
            if !full {
                return;
            }
            if ui.button(if self.settings.dark { "Light theme" } else { "Dark theme" }).on_hover_text("T").clicked() {
                self.settings.dark = !self.settings.dark;
            }
            if self.settings.scenario_toml.is_some()
                && ui
                    .button("Default scenario")
                    .on_hover_text("Drop a .toml scenario file on the window to open it")
                    .clicked()
            {
                self.open_default();
            }
            if ui.button("Help").on_hover_text("H").clicked() {
                self.show_help = !self.show_help;
            }
        });
    }

    fn file_menu_ui(&mut self, ui: &mut Ui) {
        if ui.button("Open scenario…").clicked() {
            ui.close();
            crate::files::pick_scenario(&self.inbox);
        }
        ui.menu_button("Examples", |ui| {
            for (name, text) in scenario::EXAMPLES {
                if ui.button(*name).clicked() {
                    ui.close();
                    self.open_scenario_text(text, &format!("{name}.toml"));
                }
            }
        });
        if ui.button("Save scenario as…").on_hover_text("The scenario with every live change applied").clicked() {
            ui.close();
            let text = scenario::to_toml(&self.rt.current_scenario());
            self.report(crate::files::save("scenario.toml", "toml", |_| Ok(Some(text.into_bytes()))));
        }
        if ui.button("Default scenario").clicked() {
            ui.close();
            self.open_default();
        }
        ui.separator();
        let exports: [(&str, &str, &str); 4] = [
            ("Export plots as PNG…", "png", "serversim.png"),
            ("Export plots as SVG…", "svg", "serversim.svg"),
            ("Export time series as CSV…", "csv", "serversim-series.csv"),
            ("Export summary as JSON…", "json", "serversim-summary.json"),
        ];
        for (label, ext, default) in exports {
            if ext == "png" && !crate::files::CAN_SAVE_PNG {
                continue;
            }
            if ui.button(label).clicked() {
                ui.close();
                let rt = &self.rt;
                let result = crate::files::save(default, ext, |path| match (ext, path) {
                    ("png", Some(path)) => crate::export::export_png(path, rt).map(|()| None),
                    ("png", None) => Err("PNG export needs a file; export SVG instead".into()),
                    ("svg", _) => crate::export::svg_text(rt).map(|t| Some(t.into_bytes())),
                    ("csv", _) => Ok(Some(crate::export::series_csv(rt).into_bytes())),
                    _ => Ok(Some(crate::export::summary_json(rt).into_bytes())),
                });
                self.report(result);
            }
        }
    }

    /// Show a failed file operation in the error panel.
    fn report(&mut self, result: Result<Option<String>, String>) {
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    fn controls_ui(&mut self, ui: &mut Ui) {
        ui.heading("Load");
        ui.label(RichText::new(&self.rt.scenario.name).weak());
        if let Arrival::Log(log) = &self.rt.scenario.load.arrival {
            let name =
                std::path::Path::new(&log.path).file_name().map_or(log.path.clone(), |n| n.display().to_string());
            ui.label(RichText::new(format!("replaying {name}: {} requests", log.times_s.len())).weak());
            if log.malformed > 0 {
                let examples: Vec<String> = log.examples.iter().map(|(l, why)| format!("line {l}: {why}")).collect();
                ui.label(
                    RichText::new(format!("{} damaged line(s) skipped", log.malformed))
                        .color(ui.visuals().warn_fg_color),
                )
                .on_hover_text(examples.join("\n"));
            }
        }
        let mut slow = self.rt.slow_clients * 100.0;
        let slider = egui::Slider::new(&mut slow, 0.0..=100.0).max_decimals(0).suffix(" %").text("slow clients");
        if ui
            .add(slider)
            .on_hover_text("Share of clients on the slowest link (a 56 kbit/s modem if the scenario has no client mix)")
            .changed()
        {
            self.rt.set_slow_clients(slow / 100.0);
        }
        for i in 0..self.rt.classes.len() {
            let name = self.rt.scenario.requests[i].name.clone();
            ui.label(RichText::new(format!("Request class “{name}”")).strong().color(theme::class_color(i as u16)));
            let c = &mut self.rt.classes[i];
            let cpu = ui.add(
                egui::Slider::new(&mut c.cpu_ms, 0.0..=500.0)
                    .logarithmic(true)
                    .max_decimals(1)
                    .suffix(" ms")
                    .text("CPU"),
            );
            let io = ui.add(
                egui::Slider::new(&mut c.io_ms, 0.0..=2000.0)
                    .logarithmic(true)
                    .max_decimals(1)
                    .suffix(" ms")
                    .text("IO"),
            );
            let mut percent = c.crash_fraction * 100.0;
            let crash = ui
                .add(egui::Slider::new(&mut percent, 0.0..=10.0).max_decimals(2).suffix(" %").text("crash"))
                .on_hover_text("Probability that a request segfaults its whole process");
            if crash.changed() {
                c.crash_fraction = percent / 100.0;
            }
            if cpu.changed() || io.changed() {
                self.rt.apply_class(i);
            }
            if crash.changed() {
                self.rt.apply_crash(i);
            }
        }
        ui.separator();
        ui.heading("Servers");
        self.add_server_ui(ui);
        ui.separator();
        let mut remove = None;
        let mut duplicate = None;
        for i in 0..self.rt.servers.len() {
            let config = self.rt.scenario.servers[i].clone();
            ui.push_id(i, |ui| {
                ui.horizontal(|ui| {
                    theme::swatch_ui(ui, theme::server_color(i));
                    ui.label(RichText::new(&config.name).strong().color(theme::server_color(i)));
                });
                ui.label(RichText::new(config.architecture.id()).weak());
                let c = &mut self.rt.servers[i];
                let sizes = models::architectures::info(config.architecture).sizes;
                let (p_label, t_label) = (sizes.processes.map(|f| f.label), sizes.threads.map(|f| f.label));
                let mut resized = false;
                if let Some(l) = p_label {
                    resized |= ui.add(egui::Slider::new(&mut c.processes, 1..=256).logarithmic(true).text(l)).changed();
                }
                if let Some(l) = t_label {
                    resized |= ui.add(egui::Slider::new(&mut c.threads, 1..=128).logarithmic(true).text(l)).changed();
                }
                let mut backlog_changed = false;
                ui.horizontal(|ui| {
                    let mut unlimited = c.backlog.is_none();
                    backlog_changed |= ui.checkbox(&mut unlimited, "unlimited backlog").changed();
                    if unlimited {
                        c.backlog = None;
                    } else {
                        let mut b = c.backlog.unwrap_or(100);
                        backlog_changed |=
                            ui.add(egui::Slider::new(&mut b, 0..=2048).logarithmic(true).text("backlog")).changed();
                        c.backlog = Some(b);
                    }
                });
                let gil_changed = ui.checkbox(&mut c.gil, "GIL").changed();
                if resized {
                    self.rt.apply_resize(i);
                }
                if backlog_changed {
                    self.rt.apply_backlog(i);
                }
                if gil_changed {
                    self.rt.apply_gil(i);
                }
                ui.horizontal(|ui| {
                    if ui.button("Duplicate").clicked() {
                        duplicate = Some(i);
                    }
                    if ui.add_enabled(self.rt.servers.len() > 1, egui::Button::new("Remove")).clicked() {
                        remove = Some(i);
                    }
                });
            });
            ui.separator();
        }
        if let Some(i) = duplicate {
            let mut c = self.rt.scenario.servers[i].clone();
            let live = &self.rt.servers[i];
            (c.processes, c.threads, c.listen_backlog, c.gil) = (live.processes, live.threads, live.backlog, live.gil);
            self.rt.add_server(c);
        }
        if let Some(i) = remove {
            self.rt.remove_server(i);
        }
    }

    fn add_server_ui(&mut self, ui: &mut Ui) {
        let label = |c: &AddChoice| match c {
            AddChoice::Architecture(k) => k.id().to_string(),
            AddChoice::Preset(p) => format!("preset: {p}"),
        };
        ui.horizontal(|ui| {
            egui::ComboBox::new("add-server", "kind")
                .selected_text(label(&self.add_choice))
                .show_ui(ui, |ui| {
                    for a in &REGISTRY {
                        let c = AddChoice::Architecture(a.kind);
                        let text = label(&c);
                        ui.selectable_value(&mut self.add_choice, c, text).on_hover_text(a.summary);
                    }
                    for p in presets::preset_names() {
                        let c = AddChoice::Preset(p);
                        let text = label(&c);
                        ui.selectable_value(&mut self.add_choice, c, text);
                    }
                })
                .response
                .on_hover_text("architecture or preset of the server to add");
            if ui.button("Add server").clicked() {
                self.add_server();
            }
        });
    }

    /// Add the server chosen in the "Add a server" menu.
    pub fn add_server(&mut self) {
        let config = match &self.add_choice {
            AddChoice::Architecture(k) => Ok(models::architectures::info(*k).starter()),
            AddChoice::Preset(p) => {
                scenario::parse_server(&format!("preset = \"{p}\"\nname = \"{p}\""), "<add server>")
            }
        };
        match config {
            Ok(c) => self.rt.add_server(c),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn error_panel_ui(&mut self, ui: &mut Ui, message: &str) {
        egui::Frame::group(ui.style()).fill(ui.visuals().error_fg_color.gamma_multiply(0.15)).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Problem").color(theme::ALERT).strong());
                if ui.button("Dismiss").clicked() {
                    self.error = None;
                }
            });
            // One problem per line (file:line:column: field: message); long lines wrap.
            ui.add(egui::Label::new(RichText::new(message).monospace()).wrap());
        });
    }

    fn main_view_ui(&mut self, ui: &mut Ui) {
        // Fit everything on one screen: the table needs its rows, the legends a line each; the
        // rest goes 62% to the plots and 38% to the architecture pictures.
        let n = self.rt.run.servers.len().max(1);
        let row = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y + 2.0;
        let table_h = row * (n as f32 + 3.0);
        let chrome = 4.0 * row + 12.0;
        let free = (ui.available_height() - table_h - chrome).max(420.0);
        self.legend_ui(ui);
        plots_ui(ui, &self.rt, &self.hidden, self.settings.presenter, free * 0.62);
        ui.add_space(6.0);
        legend_ui(ui);
        let gap = ui.spacing().item_spacing.x;
        let width = ((ui.available_width() - gap * (n - 1) as f32) / n as f32).max(180.0);
        let height = (free * 0.38).max(160.0);
        egui::ScrollArea::horizontal().id_salt("pictures").show(ui, |ui| {
            ui.horizontal(|ui| {
                self.motion.resize_with(self.rt.run.servers.len(), Default::default);
                for (i, s) in self.rt.run.servers.iter().enumerate() {
                    let view = s.view();
                    let c = s.config();
                    let size = egui::vec2(width, height);
                    architecture_picture_ui(ui, i, &c.name, c.architecture.id(), &view, size, &mut self.motion[i]);
                }
            });
        });
        ui.add_space(6.0);
        summary_table_ui(ui, &self.rt);
        if !self.settings.presenter {
            ui.label(
                RichText::new(format!(
                    "simulation used {:.1} ms of this frame · P presenter · H help",
                    self.rt.last_sim_time.as_secs_f64() * 1e3
                ))
                .weak(),
            );
        }
    }

    /// One legend for every plot: a swatch and name per server; click to hide or show it.
    fn legend_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            for (i, s) in self.rt.run.servers.iter().enumerate() {
                let name = &s.config().name;
                let shown = !self.hidden.contains(name);
                let color = if shown { theme::server_color(i) } else { ui.visuals().weak_text_color() };
                theme::swatch_ui(ui, color);
                let text = RichText::new(name).color(color).strong();
                let text = if shown { text } else { text.strikethrough() };
                if ui
                    .add(egui::Label::new(text).sense(egui::Sense::click()))
                    .on_hover_text("click to hide or show in the plots")
                    .clicked()
                {
                    if shown {
                        self.hidden.insert(name.clone());
                    } else {
                        self.hidden.remove(name);
                    }
                }
                ui.add_space(12.0);
            }
            ui.label(RichText::new("- - offered load").color(egui::Color32::from_gray(140)));
        });
    }

    fn help_ui(&mut self, ui: &mut Ui) {
        let mut open = self.show_help;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ui.ctx(), |ui| {
                egui::Grid::new("help-grid").num_columns(2).spacing([24.0, 6.0]).show(ui, |ui| {
                    for (k, what) in [
                        ("Space", "play / pause"),
                        ("Left / Right", "slower / faster"),
                        ("Up / Down", "more / less load (10% steps)"),
                        ("R", "reset to time zero"),
                        ("P", "presenter mode"),
                        ("T", "light / dark theme"),
                        ("F", "full screen"),
                        ("1 / 2 / 3 / 4", "live view / latency distribution / load sweep / lessons"),
                        ("L", "lessons"),
                        ("Page Down / Page Up", "next / previous lesson step (presenter: also the arrows)"),
                        ("B", "blank the screen (in a lesson)"),
                        ("H or ?", "this help"),
                    ] {
                        ui.strong(k);
                        ui.label(what);
                        ui.end_row();
                    }
                });
            });
        self.show_help = open && self.show_help;
    }
}

impl eframe::App for ServersimApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        // In the browser the page's address can name a lesson or an example (`#lesson=3`):
        // opened when the page loads and whenever the fragment changes.
        #[cfg(target_arch = "wasm32")]
        {
            let hash = frame.info().web_info.location.hash.clone();
            if self.link_seen.as_deref() != Some(hash.as_str()) {
                self.open_link(&hash);
                self.link_seen = Some(hash);
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = frame;
        ServersimApp::ui(self, ui);
        if !self.first_frame_done {
            self.first_frame_done = true;
            crate::files::console(&format!("serversim: first frame drawn {}", crate::link::since_page_load()));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}
