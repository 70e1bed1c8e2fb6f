#ifndef UTIL_H
#define UTIL_H
#define UTIL_TAG "v1"
#endif
