//! [`with_setters!`](crate::with_setters): `with_<field>` setters for configuration structs.

/// Give a configuration struct one `with_<field>(value) -> Self` setter per listed public
/// field, so a `#[non_exhaustive]` struct (which a struct literal cannot build outside its
/// crate) is still set field by field from its default:
/// `RunnerConfig::default().with_concurrency(2)`.
///
/// ```
/// #[derive(Debug, Default)]
/// #[non_exhaustive]
/// pub struct Options {
///     /// How many.
///     pub count: u32,
/// }
/// salesloft_model::with_setters!(Options { with_count => count: u32 });
/// assert_eq!(Options::default().with_count(3).count, 3);
/// ```
#[macro_export]
macro_rules! with_setters {
    ($ty:ty { $($setter:ident => $field:ident: $fty:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!(
                    "The same with [`", stringify!($field), "`](Self::", stringify!($field),
                    ") set to `value`."
                )]
                #[must_use]
                pub fn $setter(mut self, value: $fty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}
