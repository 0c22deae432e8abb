//! Colours and presenter-mode styling: a palette that stays distinct on light and dark
//! backgrounds and on projectors (Okabe–Ito based), and larger text and lines for the stage.

use egui::Color32;

/// Colour of server `i` (lines, picture frame, table swatch).
pub fn server_color(i: usize) -> Color32 {
    let (r, g, b) = charts::server_rgb(i);
    Color32::from_rgb(r, g, b)
}

/// Colour of request class `c` (dots in the architecture picture).
pub fn class_color(c: u16) -> Color32 {
    const CLASSES: [Color32; 6] = [
        Color32::from_rgb(31, 158, 137), // teal
        Color32::from_rgb(240, 180, 30), // gold
        Color32::from_rgb(200, 60, 90),  // crimson
        Color32::from_rgb(120, 90, 200), // violet
        Color32::from_rgb(90, 160, 40),  // green
        Color32::from_rgb(60, 120, 220), // blue
    ];
    CLASSES[c as usize % CLASSES.len()]
}

/// Red for crashed or refused things.
pub const ALERT: Color32 = Color32::from_rgb(220, 40, 40);

/// Apply the chosen look: presenter mode enlarges everything; `dark` picks the dark theme,
/// otherwise a high-contrast light theme.
pub fn apply(ctx: &egui::Context, presenter: bool, dark: bool) {
    let mut visuals = if dark { egui::Visuals::dark() } else { egui::Visuals::light() };
    if !dark && presenter {
        // High contrast on a projector: pure white panels, black text, stronger strokes.
        visuals.panel_fill = Color32::WHITE;
        visuals.window_fill = Color32::WHITE;
        visuals.override_text_color = Some(Color32::BLACK);
        visuals.widgets.noninteractive.bg_stroke.color = Color32::from_gray(90);
    }
    ctx.set_visuals(visuals);
    ctx.set_zoom_factor(if presenter { 1.45 } else { 1.0 });
}

/// Add egui's emoji and symbol fonts behind the text fonts, so arrows, check marks and the
/// Markdown viewer's icons (its code blocks' copy button) have glyphs; without them a missing
/// glyph draws as a box.
pub fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    for (name, bytes) in
        [("noto-emoji", epaint_default_fonts::NOTO_EMOJI_REGULAR), ("emoji-icons", epaint_default_fonts::EMOJI_ICON)]
    {
        fonts.font_data.insert(name.to_string(), std::sync::Arc::new(egui::FontData::from_static(bytes)));
        for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
            fonts.families.entry(family).or_default().push(name.to_string());
        }
    }
    ctx.set_fonts(fonts);
}

/// Line width for plots.
pub fn line_width(presenter: bool) -> f32 {
    if presenter { 3.0 } else { 1.6 }
}

/// A small filled circle in `color`, in line with text (a legend or table swatch).
pub fn swatch_ui(ui: &mut egui::Ui, color: Color32) {
    let h = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(h * 0.8, h), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), h * 0.3, color);
}
