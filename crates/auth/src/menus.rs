//! The menu/permission tree: seeding, administration, and what each user may see.

use std::collections::{BTreeSet, HashMap};

use topup_store::{Filter, FindQuery};

use crate::audit::{Audited, Change};
use crate::error::validate;
use crate::model::{MenuKind, MenuNode, MenuNodeId};
use crate::perm::is_valid_code;
use crate::seed::MENU_SEED;
use crate::service::{AuthService, Principal, not_found};
use crate::views::{MenuNodeInput, MenuNodeView};
use crate::{AuthError, FieldErrors};

fn view(node: &MenuNode) -> MenuNodeView {
    MenuNodeView {
        id: node.id,
        key: node.key.clone(),
        parent_id: node.parent_id,
        kind: node.kind,
        name: node.name.clone(),
        permission: node.permission.clone(),
        path: node.path.clone(),
        component: node.component.clone(),
        icon: node.icon.clone(),
        order: node.order,
        visible: node.visible,
        builtin: node.key.is_some(),
        children: Vec::new(),
    }
}

/// Builds the forest of the given nodes, siblings by `order` then name. A node whose parent
/// is not among them becomes a root.
fn build_tree(nodes: &[MenuNode]) -> Vec<MenuNodeView> {
    let ids: BTreeSet<MenuNodeId> = nodes.iter().map(|n| n.id).collect();
    let mut children: HashMap<Option<MenuNodeId>, Vec<&MenuNode>> = HashMap::new();
    for node in nodes {
        let parent = node.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(node);
    }
    fn attach(
        parent: Option<MenuNodeId>,
        children: &HashMap<Option<MenuNodeId>, Vec<&MenuNode>>,
        depth: usize,
    ) -> Vec<MenuNodeView> {
        let mut level: Vec<&MenuNode> = children.get(&parent).cloned().unwrap_or_default();
        level.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
        level
            .into_iter()
            .map(|node| {
                let mut out = view(node);
                // Cycles cannot be stored, but never recurse without bound on bad data.
                if depth < 32 {
                    out.children = attach(Some(node.id), children, depth + 1);
                }
                out
            })
            .collect()
    }
    attach(None, &children, 0)
}

/// Drops directories that ended up with nothing to open.
fn prune_empty_directories(nodes: Vec<MenuNodeView>) -> Vec<MenuNodeView> {
    nodes
        .into_iter()
        .filter_map(|mut node| {
            node.children = prune_empty_directories(node.children);
            (node.kind != MenuKind::Directory || !node.children.is_empty()).then_some(node)
        })
        .collect()
}

impl AuthService {
    /// Upserts [`MENU_SEED`] by key. Code-owned fields (kind, parent, permission, path,
    /// component) follow the seed; name, icon, order and visibility keep staff edits.
    pub(crate) async fn seed_menus(&self) -> Result<(), AuthError> {
        let existing = self
            .menus
            .find(&FindQuery::new(Filter::exists("key")))
            .await?;
        let mut by_key: HashMap<String, MenuNode> = existing
            .into_iter()
            .filter_map(|n| n.key.clone().map(|k| (k, n)))
            .collect();
        let now = self.clock.now();
        for seed in MENU_SEED {
            let parent_id = match seed.parent {
                Some(parent) => Some(by_key.get(parent).map(|n| n.id).ok_or_else(|| {
                    AuthError::Internal(format!("menu seed {} comes before its parent", seed.key))
                })?),
                None => None,
            };
            let node = match by_key.get(seed.key) {
                Some(current)
                    if current.parent_id == parent_id
                        && current.kind == seed.kind
                        && current.permission.as_deref() == seed.permission
                        && current.path.as_deref() == seed.path
                        && current.component.as_deref() == seed.component =>
                {
                    continue;
                }
                Some(current) => {
                    let mut next = current.clone();
                    next.parent_id = parent_id;
                    next.kind = seed.kind;
                    next.permission = seed.permission.map(str::to_owned);
                    next.path = seed.path.map(str::to_owned);
                    next.component = seed.component.map(str::to_owned);
                    next.updated_at = now;
                    self.menus.replace(&next).await?
                }
                None => {
                    let node = MenuNode {
                        id: MenuNodeId::new(),
                        key: Some(seed.key.to_owned()),
                        parent_id,
                        kind: seed.kind,
                        name: seed.name.to_owned(),
                        permission: seed.permission.map(str::to_owned),
                        path: seed.path.map(str::to_owned),
                        component: seed.component.map(str::to_owned),
                        icon: seed.icon.map(str::to_owned),
                        order: seed.order,
                        visible: true,
                        created_at: now,
                        updated_at: now,
                        version: 0,
                    };
                    match self.menus.insert(&node).await {
                        Ok(()) => node,
                        Err(e) if e.is_duplicate() => self
                            .menus
                            .find_one(Filter::eq("key", seed.key))
                            .await?
                            .ok_or_else(not_found("menu node"))?,
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            by_key.insert(seed.key.to_owned(), node);
        }
        Ok(())
    }

    async fn all_menus(&self) -> Result<Vec<MenuNode>, AuthError> {
        Ok(self.menus.find(&FindQuery::new(Filter::All)).await?)
    }

    /// The whole tree, buttons and hidden nodes included.
    pub async fn menu_tree(&self) -> Result<Vec<MenuNodeView>, AuthError> {
        Ok(build_tree(&self.all_menus().await?))
    }

    /// Visible directories and menus the holder of `permissions` may open.
    pub(crate) async fn visible_menus(
        &self,
        permissions: &BTreeSet<String>,
    ) -> Result<Vec<MenuNodeView>, AuthError> {
        let every = self.all_menus().await?;
        let nodes: Vec<MenuNode> = every
            .iter()
            .filter(|n| {
                n.kind != MenuKind::Button
                    && n.visible
                    && n.permission
                        .as_ref()
                        .is_none_or(|p| permissions.contains(p))
            })
            .cloned()
            .collect();
        // A hidden or forbidden parent hides its subtree: keep only nodes whose ancestors
        // all survived.
        let kept: HashMap<MenuNodeId, Option<MenuNodeId>> =
            nodes.iter().map(|n| (n.id, n.parent_id)).collect();
        let all: HashMap<MenuNodeId, Option<MenuNodeId>> =
            every.iter().map(|n| (n.id, n.parent_id)).collect();
        let reachable = |mut id: MenuNodeId| {
            for _ in 0..32 {
                match all.get(&id).copied().flatten() {
                    None => return true,
                    Some(parent) if kept.contains_key(&parent) => id = parent,
                    Some(_) => return false,
                }
            }
            false
        };
        let nodes: Vec<MenuNode> = nodes.iter().filter(|n| reachable(n.id)).cloned().collect();
        Ok(prune_empty_directories(build_tree(&nodes)))
    }

    async fn fetch_menu(&self, id: MenuNodeId) -> Result<MenuNode, AuthError> {
        self.menus
            .get(&id.to_string())
            .await?
            .ok_or_else(not_found("menu node"))
    }

    async fn check_menu_input(
        &self,
        input: &MenuNodeInput,
        editing: Option<MenuNodeId>,
    ) -> Result<(), AuthError> {
        validate(input)?;
        let mut errors = FieldErrors::new();
        match &input.permission {
            Some(code) if !is_valid_code(code) => errors.add(
                "permission",
                "must look like module:resource:action (lower-case, digits, '-' or '_')",
            ),
            None if input.kind == MenuKind::Button => {
                errors.add("permission", "a button needs a permission code")
            }
            _ => {}
        }
        match input.parent_id {
            None if input.kind == MenuKind::Button => {
                errors.add("parent_id", "a button belongs to a menu")
            }
            None => {}
            Some(parent_id) => match self.menus.get(&parent_id.to_string()).await? {
                None => errors.add("parent_id", "no such menu node"),
                Some(parent) if parent.kind == MenuKind::Button => {
                    errors.add("parent_id", "a button cannot have children")
                }
                Some(parent) => {
                    if let Some(editing) = editing {
                        // Walk up from the new parent; meeting the node itself means a cycle.
                        let mut cursor = Some(parent);
                        let mut steps = 0;
                        while let Some(node) = cursor {
                            if node.id == editing {
                                errors.add("parent_id", "would make the node its own ancestor");
                                break;
                            }
                            steps += 1;
                            cursor = match node.parent_id {
                                Some(up) if steps < 32 => self.menus.get(&up.to_string()).await?,
                                _ => None,
                            };
                        }
                    }
                }
            },
        }
        Ok(errors.into_result()?)
    }

    pub async fn create_menu(
        &self,
        _actor: &Principal,
        input: MenuNodeInput,
    ) -> Result<Audited<MenuNodeView>, AuthError> {
        self.check_menu_input(&input, None).await?;
        let now = self.clock.now();
        let node = MenuNode {
            id: MenuNodeId::new(),
            key: None,
            parent_id: input.parent_id,
            kind: input.kind,
            name: input.name.trim().to_owned(),
            permission: input.permission,
            path: input.path,
            component: input.component,
            icon: input.icon,
            order: input.order,
            visible: input.visible,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.menus.insert(&node).await?;
        Ok(Audited::new(
            view(&node),
            Change::new("staff_menu", node.id).after(&node),
        ))
    }

    /// Built-in nodes accept only name, icon, order and visibility changes: the rest is
    /// owned by the seed and would come back on the next start anyway.
    pub async fn update_menu(
        &self,
        _actor: &Principal,
        id: MenuNodeId,
        input: MenuNodeInput,
    ) -> Result<Audited<MenuNodeView>, AuthError> {
        let node = self.fetch_menu(id).await?;
        self.check_menu_input(&input, Some(id)).await?;
        if node.key.is_some()
            && (node.parent_id != input.parent_id
                || node.kind != input.kind
                || node.permission != input.permission
                || node.path != input.path
                || node.component != input.component)
        {
            return Err(AuthError::BuiltinProtected(
                "built-in menu nodes only take name, icon, order and visibility changes".into(),
            ));
        }
        let mut next = node.clone();
        next.parent_id = input.parent_id;
        next.kind = input.kind;
        next.name = input.name.trim().to_owned();
        next.permission = input.permission;
        next.path = input.path;
        next.component = input.component;
        next.icon = input.icon;
        next.order = input.order;
        next.visible = input.visible;
        next.updated_at = self.clock.now();
        let saved = self.menus.replace(&next).await?;
        Ok(Audited::new(
            view(&saved),
            Change::new("staff_menu", id).before(&node).after(&saved),
        ))
    }

    pub async fn delete_menu(
        &self,
        _actor: &Principal,
        id: MenuNodeId,
    ) -> Result<Audited<()>, AuthError> {
        let node = self.fetch_menu(id).await?;
        if node.key.is_some() {
            return Err(AuthError::BuiltinProtected(
                "built-in menu nodes cannot be deleted (hide them instead)".into(),
            ));
        }
        let children = self.menus.count(&Filter::eq("parent_id", id)).await?;
        if children > 0 {
            return Err(AuthError::MenuHasChildren(children));
        }
        self.menus.delete(&id.to_string()).await?;
        Ok(Audited::new(
            (),
            Change::new("staff_menu", id).before(&node),
        ))
    }
}
