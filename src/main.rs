//! The contacts editor: a Yew single-page app for call-centre agents.

use yew::prelude::*;

#[function_component(App)]
fn app() -> Html {
    html! { <main><h1>{ "Customer contacts" }</h1></main> }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
