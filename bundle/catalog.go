package bundle

import "nann/item"

// KnownItemID reports whether raw is an item id of the bundle's corpus;
// the server uses it (serving.ItemCatalog) to apply --unknown_item_ids.
func (b *Bundle) KnownItemID(raw int64) bool { return raw != 0 && b.denseItem(raw) != item.Padding }
