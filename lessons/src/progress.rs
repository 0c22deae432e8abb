//! A learner's progress through the course, kept between sessions: the answers given to each
//! prediction, the step reached, and which lessons are done. The window stores it with eframe's
//! persistence and the terminal in a JSON file; both use this one type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::run::Answer;

/// Progress through every lesson, keyed by the lesson's file name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// One entry per lesson started.
    pub lessons: BTreeMap<String, LessonProgress>,
}

/// Progress through one lesson.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The learner's answer to each prediction, by prediction id.
    pub answers: BTreeMap<String, Answer>,
    /// The 0-based step the learner last reached.
    pub step: usize,
    /// Every step has been seen.
    pub done: bool,
}

impl Progress {
    /// Progress of lesson `file` (empty if not started).
    pub fn of(&self, file: &str) -> LessonProgress {
        self.lessons.get(file).cloned().unwrap_or_default()
    }

    /// The entry of lesson `file`, created if needed.
    pub fn entry(&mut self, file: &str) -> &mut LessonProgress {
        self.lessons.entry(file.to_string()).or_default()
    }

    /// Read progress saved as JSON; damaged or foreign text gives empty progress and says why.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("the saved lesson progress is unreadable ({e}); starting afresh"))
    }

    /// The progress as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
