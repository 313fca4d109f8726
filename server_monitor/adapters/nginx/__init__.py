"""nginx's configuration, read as text: the enabled sites, their logs and log formats.

wpdash never runs nginx (`nginx -T` needs root and a config test). It reads the files
nginx reads, with a small tokenizer of nginx's own syntax (config.py), finds the sites
in WPDASH_SITES_DIR and the log formats in WPDASH_NGINX_CONF and its includes
(sites.py), compiles a log_format into a parser of the lines nginx writes with it
(log_format.py), and reads the certificate a site names (certificate.py).
"""
