//! Running code generic over resources for one chosen at run time, such as a name on the
//! command line: implement [`ResourceVisitor`] once and [`VisitResource::visit`] calls it with
//! the resource's list type.

use crate::list::ListResource;
use crate::resource::*;

/// Code generic over a resource's list type, run by [`VisitResource::visit`].
///
/// ```no_run
/// use salesloft_client::{Client, ListResource, Resource, ResourceVisitor, VisitResource};
///
/// struct FirstPage(Client);
/// impl ResourceVisitor for FirstPage {
///     type Output = std::pin::Pin<Box<dyn std::future::Future<Output = salesloft_client::Result<usize>>>>;
///     fn visit<R: ListResource>(self) -> Self::Output {
///         Box::pin(async move { Ok(self.0.list::<R>().send().await?.items.len()) })
///     }
/// }
/// # async fn demo(client: Client) -> salesloft_client::Result<()> {
/// let people = Resource::named("people").unwrap();
/// println!("{} on the first page", people.visit(FirstPage(client)).await?);
/// # Ok(()) }
/// ```
pub trait ResourceVisitor {
    /// What the visit returns.
    type Output;
    /// Run with the resource's list type.
    fn visit<R: ListResource>(self) -> Self::Output;
}

/// [`Resource::visit`](VisitResource::visit): the registry's descriptors (salesloft-model)
/// joined to the client's list types.
pub trait VisitResource {
    /// Run `visitor` with this resource's list type.
    fn visit<V: ResourceVisitor>(&'static self, visitor: V) -> V::Output;
}

impl VisitResource for Resource {
    fn visit<V: ResourceVisitor>(&'static self, visitor: V) -> V::Output {
        // Every `Resource` is one of the descriptors below: the type cannot be built elsewhere.
        macro_rules! dispatch {
            ($($list:ident => $resource:ident),*) => {
                $( if std::ptr::eq(self, &$resource) { return visitor.visit::<crate::$list>(); } )*
            };
        }
        crate::for_each_resource!(dispatch);
        visitor.visit::<crate::Notes>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RESOURCES;

    struct Path;
    impl ResourceVisitor for Path {
        type Output = &'static str;
        fn visit<R: ListResource>(self) -> &'static str {
            R::RESOURCE.path
        }
    }

    #[test]
    fn every_resource_visits_its_own_list_type() {
        for r in RESOURCES {
            assert_eq!(r.visit(Path), r.path);
        }
    }

    #[test]
    fn each_list_type_names_its_own_descriptor() {
        use crate::resource::*;
        macro_rules! check {
            ($($list:ident => $resource:ident),*) => {
                $(assert!(std::ptr::eq(<crate::$list as ListResource>::RESOURCE, &$resource), stringify!($list));)*
            };
        }
        crate::for_each_resource!(check);
    }
}
