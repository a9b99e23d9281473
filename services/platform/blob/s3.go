package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures NewS3.
type S3Config struct {
	// Endpoint is host:port, or a URL whose scheme then sets UseSSL.
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string // optional with MinIO
	UseSSL    bool
	// Prefix is prepended to every key, so that several services or
	// environments can share a bucket.
	Prefix string
	// CreateBucket creates the bucket at construction if it is missing.
	CreateBucket bool
	// PartSize is the size of the parts Put uploads when the size is
	// unknown or large, and the memory it buffers per upload; 0 means
	// 16 MiB, which allows objects up to 156 GiB (10 000 parts).
	PartSize uint64
}

// S3 is a Store and Multipart on an S3-compatible object store.
type S3 struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	partSize uint64
}

// NewS3 connects to the object store and checks the bucket (creating it
// if cfg.CreateBucket is set).
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	endpoint, useSSL := cfg.Endpoint, cfg.UseSSL
	if u, err := url.Parse(endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		endpoint, useSSL = u.Host, u.Scheme == "https"
	}
	if endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob: S3 needs an endpoint and a bucket")
	}
	if cfg.Prefix != "" {
		cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/") + "/"
		if err := ValidateKey(strings.TrimSuffix(cfg.Prefix, "/")); err != nil {
			return nil, fmt.Errorf("blob: S3 prefix: %w", err)
		}
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: useSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 %s: %w", endpoint, err)
	}
	s := &S3{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize}
	if s.partSize == 0 {
		s.partSize = 16 << 20
	}
	if cfg.CreateBucket {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("blob: S3 %s: create bucket %s: %w", endpoint, cfg.Bucket, err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *S3) object(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// mapErr turns S3 error codes into the package's errors.
func mapErr(err error) error {
	var e minio.ErrorResponse
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case "NoSuchKey", "NoSuchUpload":
		return fmt.Errorf("%w (%s)", ErrNotFound, e.Code)
	case "EntityTooSmall":
		return fmt.Errorf("%w (%s)", ErrPartTooSmall, e.Code)
	case "InvalidRange":
		return fmt.Errorf("%w (%s)", ErrInvalidRange, e.Code)
	}
	if e.StatusCode == http.StatusNotFound && e.Code == "" {
		return ErrNotFound // HEAD responses carry no error body
	}
	return err
}

func (s *S3) info(key string, o minio.ObjectInfo) Info {
	return Info{Key: key, Size: o.Size, ContentType: o.ContentType, ETag: strings.Trim(o.ETag, `"`), ModTime: o.LastModified}
}

// Put implements Store. Objects up to PartSize go in one request; larger
// or unknown-size ones in PartSize parts, one buffered at a time.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	ct, err := checkContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	var exact *exactReader
	if size >= 0 {
		exact = &exactReader{r: r, remaining: size}
		r = exact
	}
	_, err = s.client.PutObject(ctx, s.bucket, obj, r, size, minio.PutObjectOptions{
		ContentType: ct,
		PartSize:    s.partSize,
		NumThreads:  1, // one part in memory at a time
	})
	if err != nil {
		if exact != nil && exact.err != nil {
			err = exact.err // the cause, not how minio-go reports it
		}
		return Info{}, fmt.Errorf("blob: put %s: %w", key, mapErr(err))
	}
	return s.Stat(ctx, key)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, Info{}, err
	}
	if offset < 0 || length < -1 {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w: offset %d, length %d", key, ErrInvalidRange, offset, length)
	}
	opts := minio.GetObjectOptions{}
	switch {
	case length == 0:
		// S3 cannot express an empty range.
		info, err := s.Stat(ctx, key)
		if err == nil {
			_, err = checkRange(offset, length, info.Size)
		}
		if err != nil {
			return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
		}
		return io.NopCloser(strings.NewReader("")), info, nil
	case length > 0:
		err = opts.SetRange(offset, offset+length-1)
	case offset > 0:
		err = opts.SetRange(offset, 0)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	body, oi, hdr, err := s.core.GetObject(ctx, s.bucket, obj, opts)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, ErrInvalidRange) {
			// Reading from exactly the end is allowed and empty.
			if info, serr := s.Stat(ctx, key); serr == nil && offset == info.Size {
				return io.NopCloser(strings.NewReader("")), info, nil
			}
		}
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	info := s.info(key, oi)
	if cr := hdr.Get("Content-Range"); cr != "" {
		// A ranged response's Size is the range's; Info describes the
		// object, whose size ends Content-Range: "bytes a-b/SIZE".
		_, total, _ := strings.Cut(cr, "/")
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil {
			body.Close()
			return nil, Info{}, fmt.Errorf("blob: get %s: bad Content-Range %q", key, cr)
		}
		info.Size = n
	}
	return body, info, nil
}

// PresignGet implements Presigner. The signature is computed locally (after
// the bucket's region is known: minio-go asks for it once).
func (s *S3) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	obj, err := s.object(key)
	if err != nil {
		return "", err
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, obj, expiry, nil)
	if err != nil {
		return "", fmt.Errorf("blob: presign %s: %w", key, mapErr(err))
	}
	return u.String(), nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, mapErr(err))
	}
	return s.info(key, oi), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(mapErr(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("blob: delete %s: %w", key, mapErr(err))
	}
	return nil
}

// Ping implements Store: the bucket must exist and the credentials work.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: S3 %s: %w", s.client.EndpointURL().Host, err)
	}
	if !ok {
		return fmt.Errorf("blob: S3 %s: bucket %s does not exist", s.client.EndpointURL().Host, s.bucket)
	}
	return nil
}
