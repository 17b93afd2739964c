//! JavaScript exports of the contact model.
