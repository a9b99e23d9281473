package dav

import (
	"encoding/xml"
	"errors"
	"net/http"

	"golang.org/x/net/webdav"

	"bureau/services/files/internal/drive"
	"bureau/services/files/internal/store"
)

// Dead properties (PROPPATCH, and PROPFIND's allprop or named props) are
// stored in the database per node, so that clients that keep metadata in
// them — Windows sets its Win32 times after each upload — see them again.
// file implements webdav.DeadPropsHolder.

// propKey is what the properties of f are stored under: its node, or its
// space for a space's root folder.
func (f *file) propKey() string {
	if f.info.node.ID == "" {
		return f.space.ID
	}
	return f.info.node.ID
}

// DeadProps implements webdav.DeadPropsHolder.
func (f *file) DeadProps() (map[xml.Name]webdav.Property, error) {
	if f.space == nil || f.pw != nil {
		return nil, nil
	}
	if !f.info.propsLoaded {
		m, err := f.fs.svc.Props(f.ctx, f.fs.user, f.space.ID, []string{f.propKey()})
		if err != nil {
			return nil, err
		}
		f.info.props, f.info.propsLoaded = m[f.propKey()], true
	}
	out := make(map[xml.Name]webdav.Property, len(f.info.props))
	for _, p := range f.info.props {
		n := xml.Name{Space: p.NS, Local: p.Name}
		out[n] = webdav.Property{XMLName: n, Lang: p.Lang, InnerXML: []byte(p.XML)}
	}
	return out, nil
}

// Patch implements webdav.DeadPropsHolder: all the changes or none, 200
// for each property, 403 when the agent's role forbids changes (or on
// the root of /dav/), 507 beyond the limits (drive.MaxProps…).
func (f *file) Patch(patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	var set, remove []store.Prop
	var names []webdav.Property
	for _, pp := range patches {
		for _, p := range pp.Props {
			names = append(names, webdav.Property{XMLName: p.XMLName})
			sp := store.Prop{NS: p.XMLName.Space, Name: p.XMLName.Local, Lang: p.Lang, XML: string(p.InnerXML)}
			if pp.Remove {
				remove = append(remove, sp)
			} else {
				set = append(set, sp)
			}
		}
	}
	if len(names) == 0 { // COPY copies a source without properties
		return []webdav.Propstat{{Status: http.StatusOK}}, nil
	}
	if f.pw != nil {
		// COPY copies the properties onto the file it is writing: the
		// node exists once its content is stored.
		if err := f.finish(); err != nil {
			return nil, err
		}
	}
	status := http.StatusOK
	if f.space == nil {
		status = http.StatusForbidden
	} else if err := f.fs.svc.PatchProps(f.ctx, f.fs.user, f.space.ID, f.propKey(), set, remove); err != nil {
		var de *drive.Error
		switch {
		case drive.IsForbidden(err):
			status = http.StatusForbidden
		case errors.As(err, &de) && de.Status < 500:
			status = http.StatusConflict
		case errors.As(err, &de):
			status = de.Status
		default:
			return nil, err
		}
	}
	f.info.propsLoaded = false
	return []webdav.Propstat{{Props: names, Status: status}}, nil
}
